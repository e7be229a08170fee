/**
 * Sessions and the frame pipeline: bytes in → decode → `inbound` → route; frame out → `outbound`
 * → encode once → `sent` → write, with the peer's maxPayload and the session's outbound budget
 * checked on the way. Every call into plugin or application code is guarded: a throw becomes a
 * coded error for the operation (or an `error` frame to the peer), never a crash.
 */
import { EchoError, ErrorCodes, messageOf } from './errors.js'
import { describe } from './describe.js'
import { monotonicMicros } from './clock.js'
import { kernelErrors } from './kernel-errors.js'
import { CloseCodes, KernelFrames, type Frame } from './frame.js'
import type { PluginHost } from './host.js'
import type { CloseInfo, SendOptions, Session, SessionImpl } from './session.js'
import type { Connection } from './transport.js'
import type { Kernel } from './kernel.js'

/** Counters for metrics (monotonic since the kernel was created). */
export interface KernelStats {
  /** Frames encoded by the kernel (a broadcast counts one when every session gets the same bytes). */
  encodes: number
  /** Volatile frames dropped because their session was over its outbound budget. */
  volatileDropped: number
  /** Sessions closed with 4009 (slow consumer). */
  slowConsumerCloses: number
  /** Sends refused because the frame exceeded the peer's maxPayload. */
  tooLarge: number
  /** Per-session failures inside `fanout`/`sendMany` (the other sessions still got the frame). */
  fanoutFailures: number
}

/** What `fanout` did: the others still got the frame when one session failed. */
export interface FanoutReport {
  /** Sessions the frame was sent to (written, or recorded for a suspended session). */
  sent: number
  /** Sessions for which a tap or the budget dropped it (volatile). */
  dropped: number
  /** Sessions for which sending failed (oversize for that peer, a tap threw…). */
  failed: number
  /** The first failures (at most 16), with their errors. */
  failures: Array<{ session: Session; error: EchoError }>
}

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

/** A frame's kind for a message, whatever a plugin or peer put there. */
export function kindOf(frame: Frame | null | undefined): string {
  return typeof frame?.kind === 'string' ? frame.kind.slice(0, 100) : describe(frame?.kind)
}

export class Pipeline {
  /** Server: open and suspended sessions by id. */
  readonly sessions = new Map<string, SessionImpl>()
  readonly stats: KernelStats = { encodes: 0, volatileDropped: 0, slowConsumerCloses: 0, tooLarge: 0, fanoutFailures: 0 }
  handshake!: Handshake

  constructor(
    private readonly kernel: Kernel,
    private readonly host: PluginHost,
    readonly outboundBudget: number,
  ) {}

  // ---------------------------------------------------------------- out

  /** `outbound` taps, one encode, then `deliver`; returns the encoded size (0: dropped). */
  send(session: SessionImpl, frame: Frame, options?: SendOptions): number {
    let out: Frame | null = frame
    const outbound = this.host.hooks.outbound
    if (outbound.taps.length > 0) {
      try {
        out = outbound.call(frame, session)
      } catch (error) {
        throw EchoError.from(error)
      }
      if (!out) return 0
    }
    return this.deliver(session, this.encode(out), out, options?.volatile === true)
  }

  /**
   * The bytes of one frame to one session: refused above the peer's maxPayload (before anything
   * records them); offered to `sent` taps; recorded but not written while suspended. Over the
   * outbound budget a volatile frame is dropped, and anything else closes the session with 4009
   * after `sent` taps saw it (so a resumed session replays it).
   */
  deliver(session: SessionImpl, bytes: Uint8Array, frame: Frame, volatile: boolean): number {
    const size = bytes.byteLength
    if (size > session.peerMaxPayload) {
      this.stats.tooLarge++
      throw kernelErrors.payloadTooLarge(kindOf(frame), size, session.peerMaxPayload)
    }
    const suspended = session.state === 'suspended'
    let over = 0
    if (this.outboundBudget > 0 && !suspended) {
      let pending = session.connection.bufferedAmount + size
      if (this.host.meters.length > 0) pending += this.queued(session)
      if (pending > this.outboundBudget) {
        if (volatile) {
          this.stats.volatileDropped++
          return 0
        }
        over = pending
      }
    }
    const sent = this.host.hooks.sent
    if (sent.taps.length > 0) {
      try {
        sent.call(bytes, frame, session)
      } catch (error) {
        throw EchoError.from(error)
      }
    }
    if (over > 0) {
      this.stats.slowConsumerCloses++
      this.closeLost(session, CloseCodes.slowConsumer, kernelErrors.slowConsumer(over, this.outboundBudget).message)
    } else if (!suspended) session.connection.send(bytes)
    return size
  }

  /** Bytes plugins report queued for `session` (their meters). */
  queued(session: SessionImpl): number {
    let total = 0
    for (const measure of this.host.meters) {
      try {
        const bytes = measure(session)
        if (bytes > 0) total += bytes
      } catch (error) {
        this.kernel.reportError(error, 'a queue meter', session)
      }
    }
    return total
  }

  /**
   * One frame to many sessions, encoded once: a session whose `outbound` taps return the frame
   * unchanged gets the shared bytes (a tap that returns a new frame costs one encode for that
   * session). Sessions are isolated: a failure is counted and reported, never thrown into the
   * loop. Throws only when the frame itself cannot be encoded.
   */
  fanout(sessions: Iterable<Session>, frame: Frame, options?: SendOptions): FanoutReport {
    const report: FanoutReport = { sent: 0, dropped: 0, failed: 0, failures: [] }
    const volatile = options?.volatile === true
    const outbound = this.host.hooks.outbound
    const tapped = outbound.taps.length > 0
    let shared: Uint8Array | undefined
    let unencodable: unknown
    for (const item of sessions) {
      const session = item as SessionImpl
      if (session.state !== 'open' && session.state !== 'suspended') continue
      try {
        const out = tapped ? outbound.call(frame, session) : frame
        if (!out) {
          report.dropped++
          continue
        }
        let bytes = out === frame ? shared : this.encode(out)
        if (bytes === undefined) {
          try {
            bytes = shared = this.encode(frame)
          } catch (error) {
            unencodable = error // the frame itself is bad: the broadcaster's error, not this session's
            break
          }
        }
        if (this.deliver(session, bytes, out, volatile) > 0) report.sent++
        else report.dropped++
      } catch (error) {
        report.failed++
        this.stats.fanoutFailures++
        if (report.failures.length < 16) report.failures.push({ session, error: EchoError.from(error) })
      }
    }
    if (unencodable !== undefined) throw unencodable
    return report
  }

  encode(frame: Frame): Uint8Array {
    const codec = this.kernel.codec
    if (!codec) throw kernelErrors.noCodec()
    this.stats.encodes++
    try {
      return codec.encode(frame)
    } catch (error) {
      if (EchoError.is(error) && error.code === ErrorCodes.E_CODEC) throw error
      throw new EchoError(ErrorCodes.E_CODEC, kernelErrors.unencodable(kindOf(frame), messageOf(error)).message, { cause: error })
    }
  }

  /** Handshake frames bypass the pipeline: not application traffic, they go out as they are. */
  writeRaw(session: SessionImpl, frame: Frame): void {
    session.connection.send(this.encode(frame))
  }

  // ---------------------------------------------------------------- connections

  /** A session for a new connection. */
  attach(connection: Connection): SessionImpl {
    const session = new this.host.SessionClass(this.kernel, connection)
    this.bind(session, connection)
    return session
  }

  /** Routes a connection's events to a session; events of a connection the session has replaced are ignored. */
  bind(session: SessionImpl, connection: Connection): void {
    session.connection = connection
    connection.onMessage = (bytes, arrivedAt) => {
      if (session.connection !== connection) return
      // Last line of defence: nothing a peer's frame triggers may throw into the transport.
      try {
        this.receive(session, bytes, arrivedAt === undefined ? monotonicMicros() : arrivedAt)
      } catch (error) {
        this.kernel.reportError(error, `handling a frame from ${session.peer}`, session)
      }
    }
    connection.onClose = (code, reason) => {
      if (session.connection !== connection) return
      try {
        this.finalize(session, { code, reason }, true)
      } catch (error) {
        this.kernel.reportError(error, `closing the session of ${session.peer}`, session)
      }
    }
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
    try {
      this.host.hooks.disconnect.call(session, info)
    } catch (error) {
      this.kernel.reportError(error, 'a disconnect tap', session)
    }
  }

  notifyResumed(session: SessionImpl): void {
    try {
      this.host.hooks.resumed.call(session)
    } catch (error) {
      this.kernel.reportError(error, 'a resumed tap', session)
    }
  }

  notifyProtocolError(error: EchoError, session: SessionImpl | undefined): void {
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
          const connected = this.kernel.role === 'server' && session.id !== '' && session.state !== 'closed'
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
        route.handler(frame, session, bytes.byteLength, arrivedAt)
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
