/**
 * The server's side of clock sync: it is the reference timebase (its `clock.now()` is its own
 * monotonic clock) and answers `clock.ping` with t2/t3; the estimate a client reports on its
 * probes is kept per session for dashboards. A page is a client: its bundle gets
 * server.browser.ts (the package's `browser` field), which refuses.
 */
import type { PluginKernel, Session } from '@echostream/kernel'
import { atArrival, type LocalClock } from './local-clock.js'
import type { ClockReading, PeerClockReading } from './index.js'

/** Bounds of a believable report: anything else (a hostile or broken client) is ignored. */
const MAX_OFFSET_US = 1e15 // ~31 years
const MAX_DELAY_US = 1e9 // 1,000 s

function num(value: unknown, min: number, max: number): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max ? value : undefined
}

/** A client's `clock.ping` meta → a reading, or undefined when it is not one. */
function peerReadingOf(meta: Record<string, unknown>, nowUs: number): PeerClockReading | undefined {
  const offsetUs = num(meta.offsetUs, -MAX_OFFSET_US, MAX_OFFSET_US)
  const rttUs = num(meta.rttUs, 0, MAX_DELAY_US)
  const jitterUs = num(meta.jitterUs, 0, MAX_DELAY_US) ?? 0
  const samples = num(meta.samples, 0, 1e12) ?? 0
  if (offsetUs === undefined || rttUs === undefined) return undefined
  return { offsetUs, rttUs, jitterUs, samples: Math.floor(samples), reportedAtUs: nowUs }
}

/** Sets a server kernel's clock up; returns the plugin's dispose. */
export function setupServer(kernel: PluginKernel, local: LocalClock): () => void {
  // The server is the reference: t2 is when the ping *arrived* (the transport's stamp, before
  // decoding and any queue: time spent there would make the path look asymmetric and bias the
  // offset by half of it), t3 just before the reply is written.
  const peers = new WeakMap<Session, PeerClockReading>()
  const peerListeners = new Set<(reading: PeerClockReading, session: Session) => void>()
  kernel.route('clock.ping', {
    handler(frame, session, _size, arrivedAt) {
      const now = local.now()
      session.send({ kind: 'clock.pong', id: frame.id, payload: [frame.payload, atArrival(now, arrivedAt), local.now()] })
      // After the pong is out (its t3 must not wait on this): the client's estimate, if it sent one.
      if (frame.meta !== undefined) {
        const reported = peerReadingOf(frame.meta, now)
        if (reported === undefined) return
        peers.set(session, reported)
        for (const listener of peerListeners) {
          try {
            listener(reported, session)
          } catch (error) {
            kernel.reportError(error, 'a clock onPeerReading listener', session)
          }
        }
      }
    },
  })
  const reading: ClockReading = { offsetUs: 0, estimatedOffsetUs: 0, rttUs: 0, skewPpm: 0, jitterUs: 0, samples: 0 }
  kernel.expose('clock', {
    now: local.now,
    localNow: local.now,
    toLocal: (us) => us,
    fromLocal: (us) => us,
    synced: true,
    reading: () => ({ ...reading }),
    onChange: () => () => {},
    whenSynced: async () => ({ ...reading }),
    peerReading: (session) => peers.get(session),
    onPeerReading(listener) {
      peerListeners.add(listener)
      return () => void peerListeners.delete(listener)
    },
  })
  return () => peerListeners.clear()
}
