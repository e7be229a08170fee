/**
 * Per-session rpc state: the calls this side is waiting on (keyed by the ids it allocated) and the
 * handlers running for the peer's calls (keyed by the peer's ids). Ids are per direction, so the
 * two tables never mix.
 */
import type { SchemaCheck, Session } from '@echostream/kernel'
import type { CallStream } from './call-stream.js'
import type { CallContext } from './context.js'
import type { DeadlineList, Timed } from './deadlines.js'
import { IdTable } from './id-table.js'
import type { Producer } from './producer.js'

const noop = () => {}

/**
 * One outgoing call waiting for its reply. Also the AbortSignal listener (`handleEvent`) and its
 * own node in the timeout list (`Timed`), so a call costs no closure and no timer.
 */
export class PendingCall implements Timed {
  resolve: (value: unknown) => void = noop
  reject: (error: unknown) => void = noop
  signal: AbortSignal | undefined = undefined
  deadline = 0
  prev: Timed | undefined = undefined
  next: Timed | undefined = undefined
  list: DeadlineList | undefined = undefined
  /** Set once settled; late events (timer, abort, reply) then do nothing. */
  done = false
  /**
   * False when made while the session was `suspended` (reconnect plugin): the frame was queued,
   * not written, and is sent after a reconnect even when the old session is not recovered.
   */
  written = true
  /** Streaming reply: what the caller iterates (made up front by `rpc.stream`, or when the first item arrives). */
  stream: CallStream | undefined = undefined
  /** Streamed input: the caller's async iterable, pulled within the responder's credit. */
  input: Producer | undefined = undefined
  /** The idle timer of a streaming reply (made when the stream starts, if the call has an idle timeout). */
  idle: IdleNode | undefined = undefined
  /** Credit (bytes) this caller grants for streamed results; idle timeout; whether `timeoutMs` was the call's own. */
  window = 0
  idleTimeoutMs = 0
  explicitTimeout = false
  /** The call's own `result` schema (request option), checked on receipt. */
  resultCheck: SchemaCheck | undefined = undefined

  constructor(
    readonly owner: { cancel(call: PendingCall): void },
    readonly state: SessionRpc,
    readonly session: Session,
    readonly id: number,
    readonly method: string,
    readonly timeoutMs: number,
  ) {}

  /** The caller's AbortSignal aborted. */
  handleEvent(): void {
    this.owner.cancel(this)
  }
}

/** A streaming call's node in the idle-timeout list (one list node per timer, as `Timed` requires). */
export class IdleNode implements Timed {
  deadline = 0
  prev: Timed | undefined = undefined
  next: Timed | undefined = undefined
  list: DeadlineList | undefined = undefined
  constructor(readonly call: PendingCall) {}
}

export class SessionRpc {
  /** The last id this side allocated. */
  nextId = 0
  /** True once the counter wrapped past MAX_ID: from then on, ids still waiting are skipped. */
  wrapped = false
  readonly pending = new IdTable<PendingCall>()
  /** Only handlers that returned a promise are here (a sync result is answered at once). */
  readonly running = new IdTable<CallContext>()
  #resumed: { promise: Promise<void>; resolve(): void } | undefined = undefined

  /** Resolves when the suspended session is open again, or gone (streams paused while suspended wait on it). */
  whenResumed(): Promise<void> {
    if (this.#resumed === undefined) {
      let resolve!: () => void
      const promise = new Promise<void>((r) => (resolve = r))
      this.#resumed = { promise, resolve }
    }
    return this.#resumed.promise
  }

  /** The session resumed (or ended): paused streams go on (or see that they must stop). */
  wakeResumed(): void {
    const resumed = this.#resumed
    this.#resumed = undefined
    resumed?.resolve()
  }
}

/** Session → its rpc state, created on first use while the session is open, dropped on disconnect. */
export class SessionTable {
  readonly #map = new Map<Session, SessionRpc>()
  /** The last session looked up and its state: a client has one session, a server reads a batch of frames from one. */
  #lastSession: Session | undefined = undefined
  #lastState: SessionRpc | undefined = undefined

  get(session: Session): SessionRpc | undefined {
    if (session === this.#lastSession) return this.#lastState
    const state = this.#map.get(session)
    if (state !== undefined) {
      this.#lastSession = session
      this.#lastState = state
    }
    return state
  }

  /** The state of an open session, created if needed. */
  open(session: Session): SessionRpc {
    let state = this.get(session)
    if (state === undefined) {
      state = new SessionRpc()
      this.#map.set(session, state)
      this.#lastSession = session
      this.#lastState = state
    }
    return state
  }

  /** Removes and returns a session's state. */
  take(session: Session): SessionRpc | undefined {
    const state = this.#map.get(session)
    if (state !== undefined) this.#map.delete(session)
    if (session === this.#lastSession) this.#lastSession = this.#lastState = undefined
    return state
  }

  /** Removes and returns every state. */
  takeAll(): SessionRpc[] {
    const all = [...this.#map.values()]
    this.#map.clear()
    this.#lastSession = this.#lastState = undefined
    return all
  }

  values(): IterableIterator<SessionRpc> {
    return this.#map.values()
  }
}
