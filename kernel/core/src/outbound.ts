/**
 * The sending half of the pipeline: `outbound` taps → one encode → the peer's maxPayload → the
 * session's outbound budget → `sent` taps → write (or record only, while suspended). Fan-out,
 * which encodes once for many sessions, is fanout.ts; a frame sent in parts (a binary tail),
 * outbound-parts.ts.
 */
import { EchoError, ErrorCodes, messageOf } from './errors.js'
import { describe } from './describe.js'
import { kernelErrors } from './kernel-errors.js'
import { CloseCodes, type Frame } from './frame.js'
import type { PluginHost } from './host.js'
import type { SendOptions, Session, SessionImpl } from './session.js'
import type { Kernel } from './kernel.js'
import { sendInParts } from './outbound-parts.js'

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

/** A frame's kind for a message, whatever a plugin or peer put there. */
export function kindOf(frame: Frame | null | undefined): string {
  return typeof frame?.kind === 'string' ? frame.kind.slice(0, 100) : describe(frame?.kind)
}

/** `admit`: a volatile frame over the outbound budget, dropped. */
export const DROPPED = -1

export abstract class Outbound {
  readonly stats: KernelStats = { encodes: 0, volatileDropped: 0, slowConsumerCloses: 0, tooLarge: 0, fanoutFailures: 0 }

  // The hooks themselves, read per frame: they never change identity (unloading edits their taps in place).
  readonly outboundHook: PluginHost['hooks']['outbound']
  protected readonly sentHook: PluginHost['hooks']['sent']
  protected readonly meters: PluginHost['meters']

  constructor(
    protected readonly kernel: Kernel,
    protected readonly host: PluginHost,
    readonly outboundBudget: number,
  ) {
    this.outboundHook = host.hooks.outbound
    this.sentHook = host.hooks.sent
    this.meters = host.meters
  }

  /** Ends a connection for a reason a peer may recover from (slow consumer): `suspend` taps may keep the session. */
  abstract closeLost(session: SessionImpl, code: number, reason: string): void

  /** `outbound` taps, one encode, then `deliver`; returns the encoded size (0: dropped). */
  send(session: SessionImpl, frame: Frame, options?: SendOptions): number {
    let out: Frame | null = frame
    const outbound = this.outboundHook
    if (outbound.taps.length > 0) {
      try {
        out = outbound.call(frame, session)
      } catch (error) {
        throw EchoError.from(error)
      }
      if (!out) return 0
    }
    // Parts only where the transport takes them and no `sent` tap needs the message's bytes.
    if (options?.binaryTail === true && session.connection.sendParts !== undefined && this.sentHook.taps.length === 0) {
      const size = sendInParts(this, this.kernel.codec, session, out, options.volatile === true)
      if (size !== undefined) return size
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
    // `.length`, not `.byteLength` (equal for Uint8Array): V8 in Node 20 inlines the first but calls
    // a builtin for the second, ~10 ns per frame in bench/src/pipeline.mjs (CPU time, 3 M frames).
    const size = bytes.length
    const suspended = session.state === 'suspended'
    const over = this.admit(session, size, frame, volatile)
    if (over === DROPPED) return 0
    const sent = this.sentHook
    if (sent.taps.length > 0) {
      try {
        sent.call(bytes, frame, session)
      } catch (error) {
        throw EchoError.from(error)
      }
    }
    if (over > 0) this.closeSlow(session, over)
    else if (!suspended) session.connection.send(bytes)
    return size
  }

  /**
   * The checks of a message of `size` bytes to `session`, shared by `deliver` and outbound-parts.ts:
   * throws above the peer's maxPayload; returns DROPPED for a volatile frame over the outbound
   * budget, the bytes that would be pending for any other frame over it (the caller closes the
   * session), or 0 when it may go.
   */
  admit(session: SessionImpl, size: number, frame: Frame, volatile: boolean): number {
    if (size > session.peerMaxPayload) {
      this.stats.tooLarge++
      throw kernelErrors.payloadTooLarge(kindOf(frame), size, session.peerMaxPayload)
    }
    if (this.outboundBudget === 0 || session.state === 'suspended') return 0
    let pending = session.connection.bufferedAmount + size
    if (this.meters.length > 0) pending += this.queued(session)
    if (pending <= this.outboundBudget) return 0
    if (!volatile) return pending
    this.stats.volatileDropped++
    return DROPPED
  }

  /** Closes a session over its outbound budget with 4009 (`pending`: the bytes that would wait). */
  closeSlow(session: SessionImpl, pending: number): void {
    this.stats.slowConsumerCloses++
    this.closeLost(session, CloseCodes.slowConsumer, kernelErrors.slowConsumer(pending, this.outboundBudget).message)
  }

  /** Bytes plugins report queued for `session` (their meters). */
  queued(session: SessionImpl): number {
    let total = 0
    for (const measure of this.meters) {
      try {
        const bytes = measure(session)
        if (bytes > 0) total += bytes
      } catch (error) {
        this.kernel.reportError(error, 'a queue meter', session)
      }
    }
    return total
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
}
