/**
 * The taps both sides share: record the bytes of every counted frame sent (from the kernel's
 * `sent` hook: exactly what went on the wire, with its real size), count incoming frames, and
 * acknowledge what arrived so the peer can forget it.
 */
import { messageOf, Stage, type Frame, type PluginKernel, type Session } from '@echostream/kernel'
import { Outbox, type OutboxLimits } from './outbox.js'
import { reconnectErrors } from './errors.js'
import type { ReconnectOptions } from './options.js'

export const PLUGIN = 'reconnect'
export const ACK = 'reconnect.ack'

export interface Tracked {
  outbox: Outbox
  /** Server: the buffer overflowed while the session was suspended; it is ending, nothing more is recorded. */
  overflowed: boolean
}

/** What a side does with a frame sent to a suspended session whose buffer is full. */
export type OfflineOverflow = (session: Session, state: Tracked, frame: Frame) => void

/** The outbox bounds of one options object, shared by its sessions (an object each was 40 B per session). */
const outboxLimits = new WeakMap<object, OutboxLimits>()

/** `Tracked` for a new session, bounded by the options. */
export function newTracked(options: Readonly<ReconnectOptions>): Tracked {
  let limits = outboxLimits.get(options)
  if (limits === undefined) outboxLimits.set(options, (limits = Object.freeze({ maxFrames: options.maxQueuedFrames, maxBytes: options.maxQueuedBytes })))
  return { outbox: new Outbox(limits), overflowed: false }
}

/**
 * The bytes to keep for a replay. An encoder may return a view into a larger buffer it fills
 * message after message (msgpackr packs into shared slabs of 8 KiB and more): keeping the view
 * would keep the whole slab, so the message is copied into a buffer of its own size — once per
 * message, not once per session: a broadcast hands every session's tap the same bytes, so the
 * last copy is reused while the same bytes come again.
 */
function keeper(): (bytes: Uint8Array) => Uint8Array {
  let lastSeen: Uint8Array | undefined
  let lastKept: Uint8Array | undefined
  // Forgotten at the end of the turn (a broadcast offers all its sessions the bytes in one
  // synchronous loop): holding the view would hold the encoder's slab.
  const forget = () => {
    lastSeen = lastKept = undefined
  }
  return (bytes) => {
    if (bytes === lastSeen) return lastKept!
    let kept = bytes
    if (bytes.byteOffset !== 0 || bytes.byteLength !== bytes.buffer.byteLength) {
      kept = new Uint8Array(bytes.byteLength)
      kept.set(bytes)
    }
    if (lastSeen === undefined) queueMicrotask(forget)
    lastSeen = bytes
    lastKept = kept
    return kept
  }
}

export function createTracking(kernel: PluginKernel, options: Readonly<ReconnectOptions>, tracked: (session: Session) => Tracked | undefined, overflow: OfflineOverflow) {
  const isCounted = (kind: string) => kind !== ACK && !options.volatile.some((prefix) => kind.startsWith(prefix))
  const keep = keeper()

  function sendAck(session: Session, state: Tracked): void {
    if (state.outbox.received === state.outbox.ackedToPeer || session.state !== 'open') return
    state.outbox.ackedToPeer = state.outbox.received
    try {
      session.send({ kind: ACK, payload: state.outbox.received })
    } catch (error) {
      // Also called from the ack timer, where a throw is an uncaught exception: a peer that
      // announced a maxPayload smaller than an ack (18 bytes) made every tick crash the server
      // (found by the fuzz test, seed 11). Not retried until more frames arrive.
      kernel.logger.warn(`reconnect: could not acknowledge to ${session.id}: ${messageOf(error)}`)
    }
  }

  // After the encode: the bytes recorded are the bytes written (or, while suspended, the ones a
  // replay will write). Frames the kernel refused (oversize, volatile over budget) never get here.
  kernel.hooks.sent.tap(PLUGIN, (bytes: Uint8Array, frame: Frame, session: Session) => {
    if (!isCounted(frame.kind)) return
    const state = tracked(session)
    if (!state) return
    if (session.state === 'suspended' && (state.overflowed || !state.outbox.fits(bytes.byteLength))) return overflow(session, state, frame)
    state.outbox.record(keep(bytes))
  })

  // First, so every frame that arrived is counted even if a later tap drops it.
  kernel.hooks.inbound.tap({ name: PLUGIN, stage: Stage.FIRST }, (frame: Frame | null, session: Session) => {
    if (!frame || !isCounted(frame.kind)) return frame
    const state = tracked(session)
    if (state && ++state.outbox.received - state.outbox.ackedToPeer >= options.ackEveryFrames) sendAck(session, state)
    return frame
  })

  kernel.route(ACK, {
    handler(frame, session) {
      if (typeof frame.payload !== 'number' || !Number.isSafeInteger(frame.payload) || frame.payload < 0) throw reconnectErrors.badAck(ACK)
      tracked(session)?.outbox.acknowledge(frame.payload)
    },
  })

  // The periodic acks: ONE interval for every session whose acks run, not a Timeout, closure and
  // context per session (~250 B each on a server of idle sessions, and as many timer wake-ups).
  // A session may be acknowledged sooner than ackIntervalMs after its start (the round's phase):
  // an ack is a cumulative count, sent only when it grew.
  const acking = new Map<Tracked, Session>()
  let ackRound: ReturnType<typeof setInterval> | undefined
  const ackAll = () => {
    for (const [state, session] of acking) sendAck(session, state)
  }

  return {
    startAcks(session: Session, state: Tracked): void {
      acking.set(state, session)
      if (ackRound !== undefined) return
      ackRound = setInterval(ackAll, options.ackIntervalMs)
      ackRound.unref?.()
    },
    stopAcks(state: Tracked): void {
      acking.delete(state)
      if (acking.size > 0 || ackRound === undefined) return
      clearInterval(ackRound)
      ackRound = undefined
    },
    /** Writes again, in order, the bytes of the frames after the peer's count (recorded already: no taps run). */
    replay(session: Session, state: Tracked, peerReceived: number): number {
      const frames = state.outbox.after(peerReceived)
      for (const bytes of frames) kernel.writeEncoded(session, bytes)
      return frames.length
    },
    /** Sends frames queued on a session that was not recovered on its successor: counted and recorded there, then written. */
    carry(session: Session, state: Tracked, queued: Uint8Array[]): void {
      for (const bytes of queued) {
        if (bytes.byteLength > session.peerMaxPayload) {
          kernel.logger.warn(`reconnect: a queued frame of ${bytes.byteLength} bytes is over the new server's maxPayload (${session.peerMaxPayload}): dropped`)
          continue
        }
        state.outbox.record(bytes)
        kernel.writeEncoded(session, bytes)
      }
    },
  }
}
