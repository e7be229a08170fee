/**
 * The kernel's logging seam. The application may pass a logger (`{ info, warn, error }`, e.g.
 * the CLI's); a plugin may install a better one with `kernel.useLogger(provider)` (observability
 * installs its pino logger), owned like any registration, so unloading it restores the previous
 * one. `kernel.logger` is one stable object that always writes to whichever is current: code that
 * captured it at setup (rpc, auth) follows the switch. `kernel.logger.forSession(session)` is the
 * per-session logger plugins use: the provider's child (pino: `session` and `peer` bound) or, for
 * a plain logger, the same lines with `session` and `peer` added to their fields.
 *
 * A logger is user code: whatever it throws stays inside it.
 */
import type { Session } from './session.js'

/** Structured fields of a line (pino's object argument; a console logger may print or ignore them). */
export type LogFields = Record<string, unknown>

export interface Logger {
  info(message: string, fields?: LogFields): void
  warn(message: string, fields?: LogFields): void
  error(message: string, fields?: LogFields): void
  /** Optional: lines for diagnosis (not written by loggers without it). */
  debug?(message: string, fields?: LogFields): void
}

/** What `kernel.useLogger` takes: a logger, and optionally its per-session children. */
export interface LoggerProvider extends Logger {
  forSession?(session: Session): Logger
}

/** `kernel.logger`: never throws, always has `debug`, and gives per-session loggers. */
export interface KernelLogger {
  info(message: string, fields?: LogFields): void
  warn(message: string, fields?: LogFields): void
  error(message: string, fields?: LogFields): void
  debug(message: string, fields?: LogFields): void
  /** A logger whose lines carry `session` (id) and `peer`. */
  forSession(session: Session): Logger
}

const LEVELS = ['info', 'warn', 'error', 'debug'] as const
type Level = (typeof LEVELS)[number]

function write(logger: Logger, level: Level, message: string, fields: LogFields | undefined): void {
  try {
    const fn = logger[level]
    if (typeof fn !== 'function') return
    if (fields === undefined) fn.call(logger, message)
    else fn.call(logger, message, fields)
  } catch {
    // nowhere left to report a failing logger
  }
}

/** A logger that adds `session` and `peer` to every line of `base`. */
function bound(base: () => Logger, session: Session): Logger {
  const line = (level: Level) => (message: string, fields?: LogFields) => {
    const logger = base()
    // Nobody listening: don't read `peer` (a server formats it on first read and keeps the string:
    // ~180 bytes per idle connection in the bench's heap row, for a line nobody writes).
    if (logger === SILENT || typeof logger[level] !== 'function') return
    write(logger, level, message, { session: session.id || undefined, peer: session.peer, ...fields })
  }
  return { info: line('info'), warn: line('warn'), error: line('error'), debug: line('debug') }
}

/**
 * The loggers in force: the application's, under the providers plugins installed (the last one
 * wins; each is removed with its owner).
 */
export class LoggerSeam {
  readonly #providers: Array<{ owner: string; provider: LoggerProvider }> = []
  readonly logger: KernelLogger

  constructor(private readonly app: Logger | undefined) {
    const current = (): Logger => this.#providers.at(-1)?.provider ?? this.app ?? SILENT
    const line = (level: Level) => (message: string, fields?: LogFields) => write(current(), level, message, fields)
    this.logger = Object.freeze({
      info: line('info'),
      warn: line('warn'),
      error: line('error'),
      debug: line('debug'),
      forSession: (session: Session): Logger => {
        const provider = this.#providers.at(-1)?.provider
        if (provider?.forSession) {
          try {
            return guarded(provider.forSession(session))
          } catch {
            // fall back to bound fields
          }
        }
        return bound(current, session)
      },
    })
  }

  use(owner: string, provider: LoggerProvider): () => void {
    const entry = { owner, provider }
    this.#providers.push(entry)
    return () => {
      const at = this.#providers.indexOf(entry)
      if (at >= 0) this.#providers.splice(at, 1)
    }
  }

  removeOwner(owner: string): void {
    for (let i = this.#providers.length - 1; i >= 0; i--) if (this.#providers[i]!.owner === owner) this.#providers.splice(i, 1)
  }
}

const SILENT: Logger = { info() {}, warn() {}, error() {} }

function guarded(logger: Logger): Logger {
  const line = (level: Level) => (message: string, fields?: LogFields) => write(logger, level, message, fields)
  return { info: line('info'), warn: line('warn'), error: line('error'), debug: line('debug') }
}
