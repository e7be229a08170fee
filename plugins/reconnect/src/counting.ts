/**
 * The taps both sides share: count and record outgoing frames, count incoming ones, and
 * acknowledge what arrived so the peer can forget it.
 */
import { EchoError, ErrorCodes, Stage, type Frame, type PluginKernel, type Session } from '@echostream/kernel'
import { Outbox, frameSize } from './outbox.js'
import type { ReconnectOptions } from './options.js'

export const PLUGIN = 'reconnect'
export const ACK = 'reconnect.ack'

export interface Tracked {
  outbox: Outbox
  ackTimer: ReturnType<typeof setInterval> | undefined
  /** Set while replaying: those frames were recorded already. */
  replaying: boolean
}

export function createTracking(kernel: PluginKernel, options: Readonly<ReconnectOptions>, tracked: (session: Session) => Tracked | undefined) {
  const isCounted = (kind: string) => kind !== ACK && !options.volatile.some((prefix) => kind.startsWith(prefix))

  function sendAck(session: Session, state: Tracked): void {
    if (state.outbox.received === state.outbox.ackedToPeer || session.state !== 'open') return
    state.outbox.ackedToPeer = state.outbox.received
    session.send({ kind: ACK, payload: state.outbox.received })
  }

  // Last, so the frame recorded is the one that goes on the wire.
  kernel.hooks.outbound.tap({ name: PLUGIN, stage: Stage.LAST }, (frame: Frame | null, session: Session) => {
    if (!frame || !isCounted(frame.kind)) return frame
    const state = tracked(session)
    if (!state || state.replaying) return frame
    if (session.state === 'suspended' && !state.outbox.fits(frameSize(frame))) {
      throw new EchoError(ErrorCodes.E_CLOSED, `Offline and the queue is full (${options.maxQueuedFrames} frames or ${options.maxQueuedBytes} bytes): '${frame.kind}' was not queued. Wait for the reconnect, or raise options.reconnect.maxQueuedFrames.`, { retryable: true })
    }
    state.outbox.record(frame)
    return frame
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
      if (typeof frame.payload !== 'number' || !Number.isSafeInteger(frame.payload)) {
        throw new EchoError(ErrorCodes.E_PROTOCOL, `'${ACK}' needs an integer payload (the count of frames received).`)
      }
      tracked(session)?.outbox.acknowledge(frame.payload)
    },
  })

  return {
    startAcks(session: Session, state: Tracked): void {
      clearInterval(state.ackTimer)
      state.ackTimer = setInterval(() => sendAck(session, state), options.ackIntervalMs)
      state.ackTimer.unref?.()
    },
    stopAcks(state: Tracked): void {
      clearInterval(state.ackTimer)
      state.ackTimer = undefined
    },
    /** Sends again, in order, the frames the peer has not seen. */
    replay(session: Session, state: Tracked, peerReceived: number): number {
      const frames = state.outbox.after(peerReceived)
      state.replaying = true
      try {
        for (const frame of frames) session.send(frame)
      } finally {
        state.replaying = false
      }
      return frames.length
    },
    newTracked(): Tracked {
      return { outbox: new Outbox({ maxFrames: options.maxQueuedFrames, maxBytes: options.maxQueuedBytes }), ackTimer: undefined, replaying: false }
    },
  }
}
