/**
 * One `Session` type on both sides: the server holds one per connected client, a client holds one.
 * Plugins add methods (`request`, `emit`, `join`…) with `kernel.decorateSession`, typed by
 * augmenting the `Session` interface.
 */
import { kernelErrors } from './kernel-errors.js'
import { CloseCodes, type Frame } from './frame.js'
import type { Connection } from './transport.js'
import type { EchoKernel } from './kernel.js'

/** The largest peer maxPayload the kernel tracks (2^30 − 1 bytes, a small integer in V8): larger announcements count as this. */
export const MAX_PEER_PAYLOAD = 0x3fffffff

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

/** How a frame is sent. */
export interface SendOptions {
  /**
   * The frame may be dropped rather than queued: when the session is over its outbound budget (a
   * slow or paused peer), a volatile frame is dropped and counted (`send` returns 0) instead of
   * closing the session (socket.io's `volatile`). For data that a newer frame supersedes.
   */
  volatile?: boolean
  /**
   * The frame's payload ends with a large binary (a stream chunk): the codec may encode it apart
   * from the rest of the message and the transport join both in the copy it writes, when nothing
   * else needs the joined bytes (no `sent` taps). The same bytes reach the peer either way.
   */
  binaryTail?: boolean
}

/** What the kernel needs from its owner to run a session (kept small so tests can supply one). */
export interface SessionHost {
  readonly api: EchoKernel
  send(session: SessionImpl, frame: Frame, options?: SendOptions): number
  closeSession(session: SessionImpl, code: number, reason: string): void
  /** Bytes waiting to go to this session: the socket's buffer plus what plugins report as queued. */
  outboundBytes(session: SessionImpl): number
  /** The session's outbound budget in bytes (0: unlimited). */
  readonly outboundBudget: number
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
  /**
   * Passes a frame through the `outbound` pipeline, encodes and writes it; returns the encoded
   * byte length (0 when an outbound tap dropped it, or a volatile frame was dropped over budget).
   * Throws `E_CLOSED` once closed, `E_PAYLOAD_TOO_LARGE` above the peer's maxPayload (nothing sent,
   * the session stays open), `E_CODEC` for a value the codec cannot encode.
   */
  send(frame: Frame, options?: SendOptions): number
  /** Closes the connection; `disconnect` runs with this reason. */
  close(reason?: string, code?: number): void
  /** Bytes waiting in the socket's send buffer. */
  readonly bufferedAmount: number
  /** Bytes waiting to go to the peer: the socket's buffer plus what plugins hold queued for it. */
  readonly outboundBytes: number
  /**
   * False while the socket's buffer is above its high-water mark or the session is over half its
   * outbound budget: pace yourself (await `whenWritable()`), or mark droppable frames volatile.
   */
  readonly writable: boolean
  /** Resolves once `writable` is true again (at once if it is, or when the session closes). */
  whenWritable(): Promise<void>
  /** The largest message the peer accepts (its `maxPayload` from the handshake). */
  readonly peerMaxPayload: number
}

/** A session as users and plugins see it; plugins augment it (`request`, `emit`, `join`…). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Session extends SessionBase {}

/** The `handshake` of a session before its hello (a frozen empty object, shared). */
const NO_HANDSHAKE: Readonly<Record<string, unknown>> = Object.freeze({})

/**
 * Parts of a session that exist only for a while, kept apart so an open idle session has one
 * empty slot instead of three (bench: JS heap per idle connection): the handshake deadline (until
 * the hello passes), why the session closed or was suspended, a client's reconnect handshake.
 */
interface SessionAux {
  handshakeTimer?: ReturnType<typeof setTimeout>
  closeInfo?: CloseInfo
  awaitingWelcome?: true
}

/** Implements `SessionBase` only: plugins augment `Session` with the methods they decorate it with. */
export class SessionImpl implements SessionBase {
  id = ''
  readonly createdAt = Date.now()
  #data: SessionStore | undefined
  state: SessionState = 'handshaking'
  handshake: Readonly<Record<string, unknown>> = NO_HANDSHAKE
  /** What a session needs only now and then (see `SessionAux`); undefined for an open, idle one. */
  #aux: SessionAux | undefined
  /** From the peer's handshake `limits.maxPayload` (at most MAX_PEER_PAYLOAD: an int, not a boxed double, per session). */
  peerMaxPayload = MAX_PEER_PAYLOAD
  /**
   * The kernel's pipeline, on the prototype of the kernel's own session class (one per kernel, set
   * by `Pipeline`), not a field of every session: 8 bytes less per session.
   */
  declare readonly host: SessionHost

  constructor(
    /** Replaced when a suspended session resumes on a new connection. */
    public connection: Connection,
  ) {}

  /** Why the session closed (or was suspended). */
  get closeInfo(): CloseInfo | undefined {
    return this.#aux?.closeInfo
  }

  set closeInfo(info: CloseInfo | undefined) {
    SessionImpl.#setAux(this, 'closeInfo', info)
  }

  /** The handshake deadline while one runs. */
  get handshakeTimer(): ReturnType<typeof setTimeout> | undefined {
    return this.#aux?.handshakeTimer
  }

  set handshakeTimer(timer: ReturnType<typeof setTimeout> | undefined) {
    SessionImpl.#setAux(this, 'handshakeTimer', timer)
  }

  /** Client: a reconnect handshake is under way on a suspended session. */
  get awaitingWelcome(): boolean {
    return this.#aux?.awaitingWelcome === true
  }

  set awaitingWelcome(awaiting: boolean) {
    SessionImpl.#setAux(this, 'awaitingWelcome', awaiting || undefined)
  }

  /**
   * Sets one part of `#aux`, made on first use and dropped once every part is unset again. Static:
   * an instance's private method would give every session a private brand (8 bytes).
   */
  static #setAux<K extends keyof SessionAux>(session: SessionImpl, key: K, value: SessionAux[K]): void {
    const aux = session.#aux
    if (aux === undefined) {
      if (value !== undefined) session.#aux = { [key]: value }
      return
    }
    aux[key] = value
    if (aux.closeInfo === undefined && aux.handshakeTimer === undefined && aux.awaitingWelcome === undefined) session.#aux = undefined
  }

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

  get outboundBytes(): number {
    return this.host.outboundBytes(this)
  }

  get writable(): boolean {
    const connection = this.connection
    if (connection.bufferedAmount >= connection.highWaterMark) return false
    const budget = this.host.outboundBudget
    return budget === 0 || this.host.outboundBytes(this) * 2 < budget
  }

  async whenWritable(): Promise<void> {
    // The socket part waits for the transport's drain; what plugins queue has no event, so look
    // again shortly (bounded by the session's life).
    while (this.state !== 'closed' && !this.writable) {
      await this.connection.whenWritable()
      if ((this.state as SessionState) === 'closed' || this.writable) return
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }

  send(frame: Frame, options?: SendOptions): number {
    if (this.state === 'closed') throw kernelErrors.sessionClosed(this.id)
    return this.host.send(this, frame, options)
  }

  close(reason = 'closed by application', code: number = CloseCodes.normal): void {
    if (this.state !== 'closed') this.host.closeSession(this, code, reason)
  }

  /** Stops the handshake deadline and drops the Timeout (and its closure), which would otherwise live as long as the session. */
  clearHandshakeTimer(): void {
    clearTimeout(this.handshakeTimer)
    this.handshakeTimer = undefined
  }
}
