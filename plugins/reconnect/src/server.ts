/**
 * Server side: every session gets a resume token in `welcome`; a lost session is kept suspended
 * for the grace period (data, rooms, and frames sent meanwhile), and a `hello` carrying the token
 * re-attaches it, after which each side replays what the other missed.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { CloseCodes, type HelloPayload, type PluginKernel, type Session } from '@echostream/kernel'
import { isResumable } from './close-codes.js'
import { createTracking, newTracked, PLUGIN, type Tracked } from './counting.js'
import type { ResumeRequest } from './client.js'
import { reconnectErrors } from './errors.js'
import type { ReconnectOptions } from './options.js'

interface ServerTracked extends Tracked {
  token: string
  graceTimer: ReturnType<typeof setTimeout> | undefined
  /** Set by `resume`: the client's received count, for the replay after `welcome`. */
  peerReceived: number | undefined
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/**
 * A session this node continues although another node held it (cluster seam, see README): its
 * token; the frames the client had received (`sent`) followed by the encoded frames it missed
 * (`replay`, recorded here as sent: the adopter writes them after `welcome`); the frames the
 * server side had received.
 */
export interface AdoptedState {
  token: string
  sent: number
  replay: readonly Uint8Array[]
  received: number
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

export function setupServer(kernel: PluginKernel, options: Readonly<ReconnectOptions>, emit: (event: string, data: unknown) => void) {
  const states = new WeakMap<Session, ServerTracked>()
  const adopted = new WeakMap<Session, AdoptedState>()
  // Suspended and full: an exact resume is impossible, so the session ends now — its memory is
  // released at once instead of held for the grace period, and `disconnect` runs (presence, rooms).
  // The client's resume then gets a new session (`recovered: false`). The send fails with E_CLOSED
  // (a broadcast counts it for this session only); the close is deferred to a microtask so a
  // broadcast loop in progress is not re-entered by `disconnect` taps.
  const tracking = createTracking(kernel, options, (s) => states.get(s), (session, tracked, frame) => {
    if (!tracked.overflowed) {
      tracked.overflowed = true
      tracked.outbox.clear()
      queueMicrotask(() => session.close(`replay buffer full while suspended (${options.maxQueuedFrames} frames or ${options.maxQueuedBytes} bytes)`, CloseCodes.goingAway))
    }
    throw reconnectErrors.replayFull(frame.kind, options.maxQueuedFrames, options.maxQueuedBytes)
  })

  kernel.hooks.connect.tap(PLUGIN, (session: Session) => {
    const seed = adopted.get(session)
    // One literal with every field (not a spread of newTracked's): V8 gave each spread copy a hidden
    // class of its own, ~240 bytes per session (bench/README.md, "What an idle connection keeps").
    const { outbox } = newTracked(options)
    const state: ServerTracked = { outbox, overflowed: false, token: seed?.token ?? randomBytes(18).toString('base64url'), graceTimer: undefined, peerReceived: undefined }
    if (seed) {
      state.outbox.sent = state.outbox.acked = seed.sent
      for (const bytes of seed.replay) state.outbox.record(bytes)
      state.outbox.received = state.outbox.ackedToPeer = seed.received
      state.peerReceived = seed.sent
    }
    states.set(session, state)
    tracking.startAcks(session, state)
  })

  kernel.hooks.welcome.tap(PLUGIN, (welcome, session) => {
    const state = states.get(session)
    if (!state) return welcome
    const resume = state.peerReceived === undefined ? { token: state.token, graceMs: options.graceMs } : { token: state.token, graceMs: options.graceMs, recovered: true, received: state.outbox.received }
    if (adopted.delete(session)) state.peerReceived = undefined
    return { ...welcome, resume }
  })

  kernel.hooks.suspend.tap(PLUGIN, (session: Session, reason) => {
    const state = states.get(session)
    if (!state || options.graceMs === 0 || !isResumable(reason.code, 'server')) return undefined
    tracking.stopAcks(state)
    state.graceTimer = setTimeout(() => session.close(`not resumed within ${options.graceMs} ms`, CloseCodes.goingAway), options.graceMs)
    state.graceTimer.unref?.()
    emit('suspended', { session })
    return true
  })

  kernel.hooks.resume.tap(PLUGIN, (hello: HelloPayload) => {
    const request = hello.resume as Partial<ResumeRequest> | undefined
    if (!request || typeof request.sessionId !== 'string' || typeof request.token !== 'string' || !isCount(request.received)) return undefined
    const session = kernel.getSession(request.sessionId)
    const state = session && states.get(session)
    if (!session || !state || session.state !== 'suspended' || !sameToken(state.token, request.token)) return undefined
    // Exact both ways, or not at all: the server must still hold what the client missed, and the
    // client what the server missed (`keptAfter`, absent from older clients: assumed complete).
    const clientHolds = !isCount(request.keptAfter) || request.keptAfter <= state.outbox.received
    if (state.overflowed || !state.outbox.canReplayAfter(request.received) || !clientHolds) {
      session.close('cannot replay what was missed', CloseCodes.goingAway)
      return undefined
    }
    state.peerReceived = request.received
    return session
  })

  kernel.hooks.resumed.tap(PLUGIN, (session: Session) => {
    const state = states.get(session)
    if (!state) return
    clearTimeout(state.graceTimer)
    const replayed = tracking.replay(session, state, state.peerReceived ?? state.outbox.sent)
    state.peerReceived = undefined
    tracking.startAcks(session, state)
    emit('resumed', { session, replayed })
  })

  kernel.hooks.disconnect.tap(PLUGIN, (session: Session) => {
    const state = states.get(session)
    if (!state) return
    clearTimeout(state.graceTimer)
    tracking.stopAcks(state)
    states.delete(session)
  })

  return {
    /** What the server holds for a session's replay. */
    tracked: (session: Session): Tracked | undefined => states.get(session),
    /** Call from a `connect` tap staged before this plugin's (Stage.EARLY): the session continues `state`. */
    adopt(session: Session, state: AdoptedState): void {
      adopted.set(session, state)
    },
  }
}
