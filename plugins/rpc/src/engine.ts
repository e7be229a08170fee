/**
 * Ties the two halves to one session table and to the session's lifecycle: a disconnect rejects
 * that session's waiting calls and aborts its running handlers; a stop does so for every session.
 * Frame-level and kernel-free, so unit tests drive it with fake sessions.
 */
import { SchemaCompiler, type CloseInfo, type Logger, type Session } from '@echostream/kernel'
import { rpcErrors } from './errors.js'
import { DEFAULT_WINDOW } from './frames.js'
import type { RpcOptions } from './options.js'
import { Requester } from './requester.js'
import { Responder, type Authorizer } from './responder.js'
import { SessionTable } from './session-state.js'

export interface RpcEngineOptions extends Omit<RpcOptions, 'idleTimeoutMs' | 'windowBytes' | 'checkResults'>, Partial<Pick<RpcOptions, 'idleTimeoutMs' | 'windowBytes' | 'checkResults'>> {
  role: string
  logger: Logger
  authorize?: Authorizer
}

/** `checkResults`: 'development' checks unless NODE_ENV is 'production' (read once, at setup; runs anywhere). */
function resultsChecked(mode: RpcOptions['checkResults']): boolean {
  if (mode !== 'development') return mode === 'always'
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env
  return env?.NODE_ENV !== 'production'
}

/** How often `whenIdle` looks whether in-flight calls have finished (only while draining). */
const IDLE_POLL_MS = 10

export class RpcEngine {
  readonly table = new SessionTable()
  readonly requester: Requester
  readonly responder: Responder
  readonly #role: string

  constructor(options: RpcEngineOptions) {
    this.#role = options.role
    // One compiler per kernel: JSON Schema `$id`s stay local to it.
    const compiler = new SchemaCompiler()
    const checkResults = resultsChecked(options.checkResults ?? 'development')
    const full = { idleTimeoutMs: 30_000, windowBytes: DEFAULT_WINDOW, ...options, compiler, checkResults }
    this.requester = new Requester(this.table, full)
    this.responder = new Responder(this.table, compiler, full)
  }

  /**
   * The session is gone: its calls reject with E_CLOSED, its handlers' signals abort. A client
   * session still `suspended` here was not recovered by a reconnect and continues, on the same
   * object, as a new session: the calls queued while offline stay pending (they are sent to the
   * new session), only those written to the lost connection fail.
   */
  onDisconnect(session: Session, info: CloseInfo | undefined): void {
    const continues = session.state === 'suspended'
    const state = continues ? this.table.get(session) : this.table.take(session)
    if (state === undefined) return
    state.wakeResumed()
    this.responder.abortAll(state, (method) => rpcErrors.callerGone(method, info))
    this.requester.failAll(state, (method) => rpcErrors.connectionClosed(method, info), continues)
  }

  /** A suspended session is open again: streams that paused while it was away carry on. */
  onResumed(session: Session): void {
    this.table.get(session)?.wakeResumed()
  }

  /** Every session at once (kernel stopping, plugin unloaded): `why` completes "the server …". */
  closeAll(why: string): void {
    for (const state of this.table.takeAll()) {
      this.responder.abortAll(state, (method) => rpcErrors.handlerStopped(method, this.#role, why))
      this.requester.failAll(state, (method) => rpcErrors.stopping(method, this.#role, why))
    }
    this.requester.dispose()
  }

  /** Calls waiting for replies on `session`, or on every session. */
  pendingCount(session?: Session): number {
    if (session !== undefined) return this.table.get(session)?.pending.size ?? 0
    let count = 0
    for (const state of this.table.values()) count += state.pending.size
    return count
  }

  /** Handlers still running for the peers' calls. */
  runningCount(): number {
    let count = 0
    for (const state of this.table.values()) count += state.running.size
    return count
  }

  /** Resolves once no call waits and no handler runs, or at `deadline` (epoch ms) — for `kernel.drain`. */
  whenIdle(deadline: number): Promise<void> {
    return new Promise((resolve) => {
      const look = () => {
        if (Date.now() >= deadline || (this.pendingCount() === 0 && this.runningCount() === 0)) resolve()
        else setTimeout(look, IDLE_POLL_MS).unref()
      }
      look()
    })
  }
}
