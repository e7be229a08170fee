/**
 * The plugin's pino logger: JSON lines by default, pino-pretty's readable lines on request, to
 * stdout, stderr or a file. Pretty printing runs in this thread (pino-pretty as a stream), not in
 * pino's worker transport: a server's log volume at `info` is a few lines per connection, and a
 * worker thread per server would outlive a test's `stop()`.
 */
import { isAbsolute, resolve } from 'node:path'
import { pino, type DestinationStream, type Logger } from 'pino'
import pretty from 'pino-pretty'
import { messageOf } from '@echostream/kernel'
import { observabilityErrors } from './errors.js'
import type { ObservabilityOptions } from './options.js'

export interface OpenedLogger {
  logger: Logger
  /** Writes out what is buffered (file and standard streams are written synchronously; this is for the pretty stream). */
  flush(): void
}

function fileOf(destination: string, baseDir: string): string | number {
  if (destination === 'stdout') return 1
  if (destination === 'stderr') return 2
  return isAbsolute(destination) ? destination : resolve(baseDir, destination)
}

export function openLogger(options: Pick<ObservabilityOptions, 'level' | 'format' | 'destination'>, baseDir: string): OpenedLogger {
  const dest = fileOf(options.destination, baseDir)
  let stream: DestinationStream
  try {
    // Synchronous writes: a line is on disk (or the pipe) when the call returns, so nothing is lost
    // when the process exits right after logging a failure.
    const boom = pino.destination({ dest, sync: true, mkdir: typeof dest === 'string' })
    stream = options.format === 'pretty' ? pretty({ destination: boom, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }) : boom
  } catch (error) {
    throw observabilityErrors.destination(String(options.destination), messageOf(error))
  }
  const logger = pino({ level: options.level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, stream)
  return {
    logger,
    flush() {
      try {
        logger.flush()
      } catch {
        // a closed destination: nothing left to write
      }
    },
  }
}
