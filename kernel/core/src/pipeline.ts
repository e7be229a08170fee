/**
 * Sessions and the receiving half of the pipeline: a connection's bytes → decode → the handshake
 * or `inbound` → route; and the end of a connection (suspended for a resume, or closed). Every call
 * into plugin or application code is guarded: a throw becomes a coded error for the operation (or
 * an `error` frame to the peer), never a crash. The sending half is outbound.ts.
 */
import { EchoError, ErrorCodes, messageOf } from './errors.js'
import { monotonicMicros } from './clock.js'
import { kernelErrors } from './kernel-errors.js'
import { CloseCodes, KernelFrames, type Frame } from './frame.js'
import { kindOf, Outbound } from './outbound.js'
import { SERVER_BUILD } from './server-build.js'
import type { CloseInfo, SessionHost, SessionImpl } from './session.js'
import type { EchoKernel } from './kernel.js'
import type { Connection } from './transport.js'

export type { KernelStats, FanoutReport } from './outbound.js'

/** How the handshake plugs into the pipeline: the server and client strategies (handshake/*.ts). */
export interface Handshake {
  /** A frame on a session still handshaking (or awaiting a reconnect welcome). */
  onFrame(session: SessionImpl, frame: Frame): Promise<void>
  /** The connection of a session that never opened (or a suspended one's replacement) closed. */
  onClosed(session: SessionImpl, info: CloseInfo): void
}

const utf8 = new TextEncoder()

/** WebSocket close reasons are limited to 123 bytes; cut at a character boundary (a split UTF-8 sequence would grow). */
export function closeReason(text: string): string {
  if (text.length <= 41 || utf8.encode(text).byteLength <= 123) return text
  let out = ''
  let bytes = 0
  for (const char of text) {
    bytes += utf8.encode(char).byteLength
    if (bytes > 120) break
    out += char
  }
  return out + '...'
}

/** The session a connection delivers to, set by `Pipeline.bind`. */
const SESSION = Symbol('echostream.session')
type BoundConnection = Connection & { [SESSION]?: SessionImpl }

/*
 * A connection's handlers are these two functions, shared by every connection (a transport calls
 * them as its methods: `connection.onMessage(…)`), with the session on the connection: two
 * closures and their context per connection were ~0.16 KiB of heap per idle connection.
 */
function connectionOnMessage(this: BoundConnection, bytes: Uint8Array, arrivedAt: number): void {
  const session = this[SESSION]
  if (session?.connection === this) (session.host as Pipeline).onMessage(session, bytes, arrivedAt)
}

function connectionOnClose(this: BoundConnection, code: number, reason: string): void {
  const session = this[SESSION]
  if (session?.connection === this) (session.host as Pipeline).onClose(session, code, reason)
}

/** Also each session's host: `session.send` reaches `Outbound.send` with no hop through the kernel. */
export class Pipeline extends Outbound implements SessionHost {
  /** Server: open and suspended sessions by id. */
  readonly sessions = new Map<string, SessionImpl>()
  handshake!: Handshake

  constructor(...args: ConstructorParameters<typeof Outbound>) {
    super(...args)
    // Every session of this kernel reaches its pipeline through its class (see SessionImpl.host).
    Object.defineProperty(this.host.SessionClass.prototype, 'host', { value: this, configurable: true })
  }

  // ---------------------------------------------------------------- connections

  /** A session for a new connection. */
  attach(connection: Connection): SessionImpl {
    const session = new this.host.SessionClass(connection)
    this.bind(session, connection)
    return session
  }

  /** Routes a connection's events to a session; events of a connection the session has replaced are ignored. */
  bind(session: SessionImpl, connection: Connection): void {
    session.connection = connection
    ;(connection as BoundConnection)[SESSION] = session
    connection.onMessage = connectionOnMessage
    connection.onClose = connectionOnClose
  }

  /** A message on the session's current connection. */
  onMessage(session: SessionImpl, bytes: Uint8Array, arrivedAt: number | undefined): void {
    // Last line of defence: nothing a peer's frame triggers may throw into the transport.
    try {
      this.receive(session, bytes, arrivedAt === undefined ? monotonicMicros() : arrivedAt)
    } catch (error) {
      this.kernel.reportError(error, `handling a frame from ${session.peer}`, session)
    }
  }

  /** The session's current connection closed. */
  onClose(session: SessionImpl, code: number, reason: string): void {
    try {
      this.finalize(session, { code, reason }, true)
    } catch (error) {
      this.kernel.reportError(error, `closing the session of ${session.peer}`, session)
    }
  }

  get api(): EchoKernel {
    return this.kernel.api
  }

  /** Bytes waiting to go to `session`: its socket's buffer plus what plugins report queued. */
  outboundBytes(session: SessionImpl): number {
    return session.connection.bufferedAmount + (this.meters.length > 0 ? this.queued(session) : 0)
  }

  closeSession(session: SessionImpl, code: number, reason: string): void {
    if (session.state === 'closed') return
    session.connection.close(code, closeReason(reason))
    this.finalize(session, { code, reason }, false)
  }

  /** Ends a connection for a reason a peer may recover from (slow consumer): `suspend` taps may keep the session. */
  closeLost(session: SessionImpl, code: number, reason: string): void {
    if (session.state === 'closed') return
    session.connection.close(code, closeReason(reason))
    this.finalize(session, { code, reason }, true)
  }

  /**
   * The connection is gone. A lost (not deliberately closed: never 1000) connection of an open
   * session may be kept `suspended` by a `suspend` tap; otherwise the session ends and, if it had
   * connected, `disconnect` runs.
   */
  finalize(session: SessionImpl, info: CloseInfo, lost: boolean): void {
    if (session.state === 'closed') return
    if (lost && session.state === 'suspended') {
      // A replacement connection failed during its handshake: stay suspended; the reconnect driver retries.
      session.clearHandshakeTimer()
      this.handshake.onClosed(session, info)
      return
    }
    if (lost && info.code !== CloseCodes.normal && session.state === 'open' && this.kernel.state === 'started' && this.#suspends(session, info)) {
      session.state = 'suspended'
      session.closeInfo = info
      return
    }
    const wasOpen = session.state === 'open' || session.state === 'suspended'
    session.state = 'closed'
    session.closeInfo = info
    session.clearHandshakeTimer()
    if (this.sessions.get(session.id) === session) this.sessions.delete(session.id)
    if (!wasOpen) return this.handshake.onClosed(session, info)
    this.notifyDisconnect(session, info)
  }

  #suspends(session: SessionImpl, info: CloseInfo): boolean {
    try {
      return this.host.hooks.suspend.call(session, info) === true
    } catch (error) {
      this.kernel.reportError(error, 'a suspend tap', session)
      return false
    }
  }

  notifyDisconnect(session: SessionImpl, info: CloseInfo): void {
    if (SERVER_BUILD && this.kernel.role === 'server') {
      const line = { code: info.code, reason: info.reason, durationMs: Date.now() - session.createdAt }
      const log = this.kernel.logger.forSession(session)
      if (info.code === CloseCodes.normal || info.code === CloseCodes.goingAway) log.info('session closed', line)
      else log.warn('session closed abnormally', line)
    }
    try {
      this.host.hooks.disconnect.call(session, info)
    } catch (error) {
      this.kernel.reportError(error, 'a disconnect tap', session)
    }
  }

  notifyResumed(session: SessionImpl): void {
    this.kernel.logger.forSession(session).info('session resumed')
    try {
      this.host.hooks.resumed.call(session)
    } catch (error) {
      this.kernel.reportError(error, 'a resumed tap', session)
    }
  }

  notifyProtocolError(error: EchoError, session: SessionImpl | undefined): void {
    const log = session ? this.kernel.logger.forSession(session) : this.kernel.logger
    const line = { code: typeof error?.code === 'string' ? error.code.slice(0, 40) : 'E_UNKNOWN', reason: messageOf(error) }
    // A refusal is the peer's only answer; the server's operator hears the same reason.
    log.warn(session?.state === 'handshaking' ? 'handshake refused' : 'protocol error', line)
    try {
      this.host.hooks.protocolError.call(error, session)
    } catch (failure) {
      this.kernel.reportError(failure, 'a protocolError tap', session)
    }
  }

  // ---------------------------------------------------------------- in

  receive(session: SessionImpl, bytes: Uint8Array, arrivedAt: number): void {
    if (session.state === 'closed') return
    const decoded = this.kernel.codec!.decode(bytes)
    if (!decoded.ok) {
      if (session.state === 'open') this.protocolError(session, decoded.error)
      // Garbage instead of a reconnect `welcome`: drop that connection; the session stays suspended.
      else if (session.awaitingWelcome) session.connection.close(CloseCodes.protocol, 'not a welcome')
      else this.refuse(session, decoded.error, CloseCodes.protocol)
      return
    }
    let frame: Frame | null = decoded.frame
    if (session.state === 'handshaking' || session.awaitingWelcome) {
      // A tap that throws in connect/welcome must refuse this peer, not reject into the void.
      this.handshake.onFrame(session, frame).catch((error) => {
        try {
          const connected = SERVER_BUILD && this.kernel.role === 'server' && session.id !== '' && session.state !== 'closed'
          this.refuse(session, EchoError.from(error, ErrorCodes.E_INTERNAL), CloseCodes.internalError)
          // `connect` taps ran for this session (a `welcome` tap failed): let them release what they hold.
          if (connected) this.notifyDisconnect(session, { code: CloseCodes.internalError, reason: 'refused: handshake failed' })
        } catch (failure) {
          this.kernel.reportError(failure, `refusing ${session.peer}`, session)
        }
      })
      return
    }
    const inbound = this.host.hooks.inbound
    if (inbound.taps.length > 0) {
      try {
        frame = inbound.call(frame, session, bytes.length)
      } catch (error) {
        // A plugin's inbound tap failed on this frame: tell the peer, keep the process and the session.
        const kind = kindOf(decoded.frame)
        this.kernel.reportError(error, `an inbound tap on a '${kind}' frame`, session)
        return this.protocolError(session, new EchoError(ErrorCodes.E_INTERNAL, `The ${this.kernel.role} failed to process a '${kind}' frame: ${messageOf(error)}`, { cause: error }), decoded.frame)
      }
      if (!frame) return
    }
    const route = this.host.routeFor(frame.kind)
    if (route) {
      try {
        route.handler(frame, session, bytes.length, arrivedAt) // .length: see Outbound.deliver
      } catch (error) {
        this.protocolError(session, EchoError.from(error, ErrorCodes.E_PROTOCOL), frame)
      }
    } else if (frame.kind === KernelFrames.error) {
      this.#onErrorFrame(session, frame)
    } else {
      this.protocolError(session, kernelErrors.unknownKind(kindOf(frame), this.kernel.role, this.host.records.map((r) => r.def.name).join(', ')), frame)
    }
  }

  #onErrorFrame(session: SessionImpl, frame: Frame): void {
    const error = EchoError.fromWire(frame.payload)
    const re = (frame.payload as { re?: unknown } | undefined)?.re
    const route = typeof re === 'string' ? this.host.routes.get(re)?.route : undefined
    if (!route?.onError) return this.notifyProtocolError(error, session)
    try {
      route.onError(error, frame.id, session)
    } catch (failure) {
      this.kernel.reportError(failure, `handling an error frame about '${re}'`, session)
    }
  }

  /** Tells the peer about a bad frame without closing (the session stays usable). */
  protocolError(session: SessionImpl, error: EchoError, frame?: Frame): void {
    this.notifyProtocolError(error, session)
    const payload: Record<string, unknown> = { ...error.toWire() }
    if (frame) payload.re = kindOf(frame)
    try {
      this.send(session, frame?.id === undefined ? { kind: KernelFrames.error, payload } : { kind: KernelFrames.error, id: frame.id, payload })
    } catch {
      // closing, or the error itself cannot be sent (its data); nothing more to tell
    }
  }

  /** Refuses a handshaking peer: an error frame with the reason, then a close with a code. */
  refuse(session: SessionImpl, error: EchoError, code: number): void {
    if (session.state === 'closed') return
    this.notifyProtocolError(error, session)
    try {
      this.writeRaw(session, { kind: KernelFrames.error, payload: error.toWire() })
    } catch {
      // encoding an error frame can only fail if the codec is gone; the close still says why
    }
    this.closeSession(session, code, `${error.code}: ${error.message}`)
  }
}
