/**
 * Client side: on a lost connection the session is kept (suspended) and the client reconnects
 * with backoff. Recovered: both sides replay what the other missed, exactly once and in order.
 * Not recovered (server restarted, grace expired): the old session ends (`disconnect` runs, so
 * RPCs already written fail with E_CLOSED) and what was queued while offline is sent, in order,
 * on the new session before anything newer.
 */
import { EchoError, ErrorCodes, type PluginKernel, type Session } from '@echostream/kernel'
import { backoffDelay } from './backoff.js'
import { isResumable } from './close-codes.js'
import { createTracking, newTracked, PLUGIN, type Tracked } from './counting.js'
import { reconnectErrors } from './errors.js'
import type { ReconnectOptions } from './options.js'

interface ClientTracked extends Tracked {
  token: string | undefined
  /** `outbox.sent` when the connection was lost: later frames were queued offline, never written. */
  offlineFrom: number
}

/** What a client's `hello.resume` carries (PROTOCOL.md, reconnect). */
export interface ResumeRequest {
  sessionId: string
  token: string
  /** Frames received from the server on this session. */
  received: number
  /** The client still holds every frame it sent after this count (earlier unacknowledged ones were evicted). */
  keptAfter: number
}

const FATAL = new Set<string>([ErrorCodes.E_UNAUTHORIZED, ErrorCodes.E_INCOMPATIBLE])

export function setupClient(kernel: PluginKernel, options: Readonly<ReconnectOptions>, emit: (event: string, data: unknown) => void) {
  let state: ClientTracked | undefined
  let loop: { cancelled: boolean; wake?: () => void } | undefined
  // Offline and full: refuse the new frame (nothing older is evicted, nothing dropped silently).
  const tracking = createTracking(kernel, options, () => state, (_session, full, frame) => {
    throw reconnectErrors.offlineQueueFull(frame.kind, full.outbox.size, full.outbox.bytes, options.maxQueuedFrames, options.maxQueuedBytes)
  })

  kernel.hooks.connect.tap(PLUGIN, (session: Session) => {
    // A new session (first connect, or not recovered): a fresh count. Frames queued offline on the
    // old one go first, before any other plugin's connect tap or the app can send something newer.
    const queued = state ? state.outbox.after(state.offlineFrom) : []
    state = { ...newTracked(options), token: (session.handshake.resume as { token?: string } | undefined)?.token, offlineFrom: 0 }
    tracking.carry(session, state, queued)
    tracking.startAcks(session, state)
  })

  kernel.hooks.hello.tap(PLUGIN, (hello) => {
    const session = kernel.session
    if (!session || session.state !== 'suspended' || !state?.token) return hello
    const { outbox } = state
    const resume: ResumeRequest = { sessionId: session.id, token: state.token, received: outbox.received, keptAfter: outbox.sent - outbox.size }
    return { ...hello, resume }
  })

  kernel.hooks.suspend.tap(PLUGIN, (session: Session, reason) => {
    if (!state || !isResumable(reason.code, 'client')) return undefined
    tracking.stopAcks(state)
    state.offlineFrom = state.outbox.sent
    void reconnectLoop(session, reason.reason)
    return true
  })

  kernel.hooks.resumed.tap(PLUGIN, (session: Session) => {
    if (!state) return
    const peerReceived = (session.handshake.resume as { received?: number } | undefined)?.received
    tracking.replay(session, state, typeof peerReceived === 'number' ? peerReceived : state.outbox.sent)
    tracking.startAcks(session, state)
  })

  kernel.hooks.disconnect.tap(PLUGIN, () => {
    if (state) tracking.stopAcks(state)
  })

  async function reconnectLoop(session: Session, why: string): Promise<void> {
    const me: { cancelled: boolean; wake?: () => void } = { cancelled: false }
    loop = me
    let lastError: EchoError | undefined
    for (let attempt = 0; options.maxAttempts === 0 || attempt < options.maxAttempts; attempt++) {
      const delayMs = backoffDelay(attempt, options)
      emit('reconnecting', { attempt: attempt + 1, delayMs, reason: why })
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delayMs)
        me.wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      if (me.cancelled || session.state !== 'suspended') return
      try {
        const { recovered } = await kernel.reconnectSession()
        emit('reconnected', { recovered, attempts: attempt + 1 })
        return
      } catch (error) {
        lastError = EchoError.from(error, ErrorCodes.E_CLOSED)
        if (me.cancelled || session.state !== 'suspended') return
        if (FATAL.has(lastError.code)) break
      }
    }
    if (me.cancelled) return
    emit('reconnect_failed', { error: lastError })
    session.close(`reconnect failed: ${lastError?.message ?? 'gave up'}`)
  }

  kernel.hooks.stop.tap(PLUGIN, () => {
    if (loop) {
      loop.cancelled = true
      loop.wake?.()
    }
  })

  /** What this client holds for a replay. */
  return (): Tracked | undefined => state
}

