/**
 * The CLI's own lines ("listening on …", "SIGTERM: draining and stopping", the kernel's warnings):
 * `--log-level` filters them and `--log-format json` writes them as pino-shaped JSON lines
 * (`level` as pino's numbers, `time`, `pid`, `msg`), so that a log collector reading a server's
 * stdout sees one format whether or not the observability plugin is loaded. `pretty` (the
 * default for the CLI's lines) is `[echostream] text`.
 */
import type { Logger } from '@echostream/kernel'

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]
export const LOG_FORMATS = ['json', 'pretty'] as const
export type LogFormat = (typeof LOG_FORMATS)[number]

/** pino's numeric levels. */
const VALUE: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity }

export interface CliLogger extends Logger {
  enabled(level: Exclude<LogLevel, 'silent'>): boolean
}

export function cliLogger(level: LogLevel = 'info', format: LogFormat = 'pretty'): CliLogger {
  const min = VALUE[level]
  const line = (at: 'info' | 'warn' | 'error', message: string) => {
    if (VALUE[at] < min) return
    const out = at === 'info' ? process.stdout : process.stderr
    if (format === 'json') out.write(`${JSON.stringify({ level: VALUE[at], time: new Date().toISOString(), pid: process.pid, name: 'echostream', msg: message })}\n`)
    else out.write(`[echostream] ${at === 'info' ? '' : `${at === 'warn' ? 'warning' : 'error'}: `}${message}\n`)
  }
  return {
    info: (m) => line('info', m),
    warn: (m) => line('warn', m),
    error: (m) => line('error', m),
    enabled: (at) => VALUE[at] >= min,
  }
}
