/**
 * The daemon's log: pino, one JSON line per entry to stdout (the log file when the CLI started the
 * daemon), and the most recent entries kept in memory for the admin channel's `admin.logs`.
 */
import { pino, type Logger as Pino } from 'pino'
import type { Logger } from '@echostream/node'

export interface LogEntry {
  level: number
  levelName: string
  time: number
  msg: string
  [field: string]: unknown
}

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' }
export const LEVEL_NUMBERS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 }

/** A pino destination that keeps the last `capacity` entries, parsed. */
export class RecentLogs {
  private entries: LogEntry[] = []
  constructor(private readonly capacity: number) {}

  write(line: string): void {
    try {
      const entry = JSON.parse(line) as LogEntry
      entry.levelName = LEVELS[entry.level] ?? String(entry.level)
      this.entries.push(entry)
      if (this.entries.length > this.capacity) this.entries.splice(0, this.entries.length - this.capacity)
    } catch {
      // pino writes whole JSON lines; anything else is not ours to keep
    }
  }

  /** The newest `limit` entries at `level` or above (oldest first), optionally only those whose `msg` contains `contains`. */
  query({ limit = 100, level = 'trace', contains }: { limit?: number; level?: string; contains?: string } = {}): LogEntry[] {
    const min = LEVEL_NUMBERS[level] ?? 10
    const out: LogEntry[] = []
    for (let i = this.entries.length - 1; i >= 0 && out.length < limit; i--) {
      const entry = this.entries[i]!
      if (entry.level >= min && (!contains || entry.msg.includes(contains))) out.push(entry)
    }
    return out.reverse()
  }
}

export function createLog(options: { level: string; recent: number; destination?: NodeJS.WritableStream }): { log: Pino; recent: RecentLogs } {
  const recent = new RecentLogs(options.recent)
  const log = pino(
    { level: options.level, base: { pid: process.pid } },
    pino.multistream([
      { level: options.level as pino.Level, stream: options.destination ?? process.stdout },
      { level: 'trace', stream: recent },
    ]),
  )
  return { log, recent }
}

/** The kernel's Logger onto a pino child: the framework's lines keep their fields (session, peer, method…). */
export function kernelLogger(log: Pino): Logger {
  return {
    info: (message, fields) => log.info(fields ?? {}, message),
    warn: (message, fields) => log.warn(fields ?? {}, message),
    error: (message, fields) => log.error(fields ?? {}, message),
    debug: (message, fields) => log.debug(fields ?? {}, message),
  }
}
