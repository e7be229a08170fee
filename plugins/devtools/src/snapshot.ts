/**
 * Builds a `DevtoolsSnapshot` from the kernel, the collector and whatever optional plugins are
 * loaded: rooms (events), streams (`streams.list`), client clocks (clock-sync's `peerReading`).
 * Optional plugins are read through the small structural types below, so this package needs none
 * of them installed.
 */
import { KERNEL_VERSION, type DevtoolsClock, type DevtoolsClockReading, type DevtoolsRoom, type DevtoolsSession, type DevtoolsSnapshot, type DevtoolsStream, type EchoKernel, type Session } from '@echostream/kernel'
import { WINDOW, type Collector } from './collector.js'
import type { DevtoolsOptions } from './options.js'

/** What this reads of plugin-streams' `list(session)` (WriterStats / ReaderStats). */
interface StreamsLike {
  list?(session: Session): {
    writers: Array<{ id: number; name: string; state: string; sentOffset: number; maxOffset: number; window: number; queuedBytes: number; waitingFor: string | null }>
    readers: Array<{ id: number; name: string; state: string; receivedOffset: number; maxOffset: number; window: number; unreadBytes: number }>
  }
}
/** What this reads of plugin-clock-sync's server API. */
interface ClockLike {
  now(): number
  peerReading?(session: Session): { offsetUs: number; rttUs: number; jitterUs: number; samples: number } | undefined
}
interface EventsLike {
  rooms(): string[]
  in(room: string): Session[]
}

export interface SnapshotSources {
  kernel: EchoKernel
  collector: Collector
  options: DevtoolsOptions
  app: { name?: string; version?: string }
  isDevtools(session: Session): boolean
  startedAt: () => number
  draining: () => boolean
}

const ROOM_MEMBERS = 50
const METHODS = 50

export function takeSnapshot(src: SnapshotSources): DevtoolsSnapshot {
  const { kernel, collector, options } = src
  const api = kernel as unknown as { events?: EventsLike; streams?: StreamsLike; clock?: ClockLike }
  const all = kernel.sessions()
  // Newest first: when the list is capped, the sessions just opened are the ones shown.
  const listed = all.slice(-options.maxSessions).reverse()
  const clockOf = (s: Session): DevtoolsClockReading | null => {
    const r = api.clock?.peerReading?.(s)
    return r ? { offsetUs: r.offsetUs, rttUs: r.rttUs, jitterUs: r.jitterUs, samples: r.samples } : null
  }

  const sessions: DevtoolsSession[] = listed.map((s) => {
    const c = collector.of(s)
    let rooms: string[] = []
    try {
      rooms = typeof (s as { rooms?: unknown }).rooms === 'function' ? (s as unknown as { rooms(): string[] }).rooms().slice(0, 50) : []
    } catch {
      // a closing session
    }
    return {
      id: s.id,
      peer: s.peer,
      state: s.state,
      createdAt: s.createdAt,
      devtools: src.isDevtools(s),
      rooms,
      calls: c.calls,
      events: c.events,
      framesIn: c.framesIn,
      framesOut: c.framesOut,
      bytesIn: c.bytesIn,
      bytesOut: c.bytesOut,
      outboundBytes: s.state === 'open' ? s.outboundBytes : 0,
      clock: clockOf(s),
    }
  })

  const roomNames = api.events?.rooms() ?? []
  const rooms: DevtoolsRoom[] = roomNames.slice(0, options.maxRooms).map((name) => {
    const members = api.events!.in(name)
    return { name, members: members.length, sessions: members.slice(0, ROOM_MEMBERS).map((m) => m.id) }
  })

  const streams: DevtoolsStream[] = []
  let streamsTotal = 0
  if (api.streams?.list) {
    for (const s of all) {
      const { writers, readers } = api.streams.list(s)
      streamsTotal += writers.length + readers.length
      for (const w of writers) {
        if (streams.length >= options.maxStreams) break
        streams.push({ session: s.id, id: w.id, name: w.name, direction: 'out', state: w.state, offset: w.sentOffset, maxOffset: w.maxOffset, credit: Math.max(0, w.maxOffset - w.sentOffset), window: w.window, queuedBytes: w.queuedBytes, waitingFor: w.waitingFor })
      }
      for (const r of readers) {
        if (streams.length >= options.maxStreams) break
        const credit = Math.max(0, r.maxOffset - r.receivedOffset)
        const waitingFor = r.unreadBytes > 0 ? 'application' : credit === 0 ? 'peer' : null
        streams.push({ session: s.id, id: r.id, name: r.name, direction: 'in', state: r.state, offset: r.receivedOffset, maxOffset: r.maxOffset, credit, window: r.window, queuedBytes: r.unreadBytes, waitingFor })
      }
    }
  }

  return {
    at: Date.now(),
    server: {
      ...(src.app.name !== undefined ? { name: src.app.name } : {}),
      version: src.app.version ?? KERNEL_VERSION,
      kernelVersion: KERNEL_VERSION,
      pid: process.pid,
      uptimeMs: Math.max(0, Date.now() - src.startedAt()),
      url: kernel.url ?? '',
      plugins: kernel.plugins().map((p) => ({ name: p.name, version: p.version })),
      draining: src.draining(),
    },
    sessionsTotal: all.length,
    sessions,
    roomsTotal: roomNames.length,
    rooms,
    streamsTotal,
    streams,
    clock: clockSummary(api.clock, all),
    rates: {
      windowMs: WINDOW * 1000,
      callsPerSec: collector.calls.perSec(),
      eventsPerSec: collector.events.perSec(),
      framesInPerSec: collector.framesIn.perSec(),
      framesOutPerSec: collector.framesOut.perSec(),
      bytesInPerSec: collector.bytesIn.perSec(),
      bytesOutPerSec: collector.bytesOut.perSec(),
      callsTotal: collector.calls.total,
      errorsTotal: collector.errorsTotal,
      methods: [...collector.methods]
        .map(([method, m]) => ({ method, calls: m.total, perSec: m.perSec() }))
        .sort((a, b) => b.perSec - a.perSec || b.calls - a.calls)
        .slice(0, METHODS),
    },
    errors: collector.recentErrors(),
  }
}

function clockSummary(clock: ClockLike | undefined, sessions: Session[]): DevtoolsClock {
  if (!clock) return { available: false, serverNowUs: 0, reporting: 0, offsetUs: null, rttUs: null }
  const offsets: number[] = []
  const rtts: number[] = []
  for (const s of sessions) {
    const r = clock.peerReading?.(s)
    if (!r) continue
    offsets.push(r.offsetUs)
    rtts.push(r.rttUs)
  }
  return { available: true, serverNowUs: clock.now(), reporting: offsets.length, offsetUs: spread(offsets), rttUs: spread(rtts) }
}

function spread(values: number[]): { min: number; median: number; max: number } | null {
  if (values.length === 0) return null
  values.sort((a, b) => a - b)
  return { min: values[0]!, median: values[values.length >> 1]!, max: values[values.length - 1]! }
}
