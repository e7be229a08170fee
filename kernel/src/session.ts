/**
 * One `Session` type on both sides: the server holds one per connected client, a client holds one.
 * Plugins add methods (`request`, `emit`, `join`…) with `kernel.decorateSession`, typed by
 * augmenting the `Session` interface.
 */
import { EchoError, ErrorCodes } from './errors.js'
import { CloseCodes, type Frame } from './frame.js'
import type { Connection } from './transport.js'
import type { EchoKernel } from './kernel.js'

/** Per-session values, typed by module augmentation: `declare module '@echostream/kernel' { interface SessionData { user: User } }`. */
export interface SessionData {
  [key: string]: unknown
}

export interface SessionStore {
  get<K extends keyof SessionData & string>(key: K): SessionData[K] | undefined
  set<K extends keyof SessionData & string>(key: K, value: SessionData[K]): SessionStore
  has(key: string): boolean
  delete(key: string): boolean
  keys(): IterableIterator<string>
}

export interface CloseInfo {
  code: number
  reason: string
}

/** `suspended`: the connection was lost but a plugin (reconnect) keeps the session for a resume; sends are recorded, not written. */
export type SessionState = 'handshaking' | 'open' | 'suspended' | 'closed'

/** What the kernel needs from its owner to run a session (kept small so tests can supply one). */
export interface SessionHost {
  readonly api: EchoKernel
  sendFrame(session: SessionImpl, frame: Frame): void
  closeSession(session: SessionImpl, code: number, reason: string): void
}

/**
 * What every session has. Plugins add methods by augmenting `Session` (which extends this), so
 * the kernel's own class implements only this part.
 */
export interface SessionBase {
  /** Assigned by the server in the handshake ('' on a client until `welcome`). */
  readonly id: string
  /** The peer's address, `host:port`. */
  readonly peer: string
  /** The kernel this session belongs to (for handler modules: `session.kernel.events.broadcast(...)`). */
  readonly kernel: EchoKernel
  /** Epoch milliseconds when the connection was accepted or opened. */
  readonly createdAt: number
  readonly data: SessionStore
  readonly state: SessionState
  /** The peer's `hello` payload (server side) or the server's `welcome` payload (client side). */
  readonly handshake: Readonly<Record<string, unknown>>
  /** Passes a frame through the `outbound` pipeline, encodes and writes it. Throws `E_CLOSED` once closed. */
  send(frame: Frame): void
  /** Closes the connection; `disconnect` runs with this reason. */
  close(reason?: string, code?: number): void
  /** Bytes waiting in the socket's send buffer. */
  readonly bufferedAmount: number
  /** Resolves when the socket's send buffer is below its high-water mark (flow control for bulk senders). */
  whenWritable(): Promise<void>
}

/** A session as users and plugins see it; plugins augment it (`request`, `emit`, `join`…). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Session extends SessionBase {}

/** Implements `SessionBase` only: plugins augment `Session` with the methods they decorate it with. */
export class SessionImpl implements SessionBase {
  id = ''
  readonly createdAt = Date.now()
  #data: SessionStore | undefined
  state: SessionState = 'handshaking'
  handshake: Readonly<Record<string, unknown>> = {}
  closeInfo: CloseInfo | undefined
  handshakeTimer: ReturnType<typeof setTimeout> | undefined
  /** Client: a reconnect handshake is under way on a suspended session. */
  awaitingWelcome = false

  constructor(
    readonly host: SessionHost,
    /** Replaced when a suspended session resumes on a new connection. */
    public connection: Connection,
  ) {}

  get kernel(): EchoKernel {
    return this.host.api
  }

  /** Made on first use: most sessions never store anything, and an idle server holds thousands. */
  get data(): SessionStore {
    return (this.#data ??= new Map<string, unknown>() as unknown as SessionStore)
  }

  get peer(): string {
    return this.connection.peer
  }

  get bufferedAmount(): number {
    return this.connection.bufferedAmount
  }

  whenWritable(): Promise<void> {
    return this.connection.whenWritable()
  }

  send(frame: Frame): void {
    if (this.state === 'closed') {
      throw new EchoError(ErrorCodes.E_CLOSED, `Session ${this.id || '(handshaking)'} is closed; wait for a new connection before sending.`)
    }
    this.host.sendFrame(this, frame)
  }

  close(reason = 'closed by application', code: number = CloseCodes.normal): void {
    if (this.state !== 'closed') this.host.closeSession(this, code, reason)
  }
}
