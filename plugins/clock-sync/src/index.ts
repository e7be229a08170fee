/**
 * Clock sync as a plugin: the client probes the server NTP-style (t1…t4), feeds the samples to the
 * estimator, and reads time through a slewing clock that never runs backwards. The server is the
 * reference timebase: its `clock.now()` is its own monotonic clock.
 */
import { definePlugin, messageOf, type Frame, type Session, type KernelApi, type OptionsOf } from '@echostream/kernel'
import { clockErrors } from './errors.js'
import { ClockEstimator } from './estimator.js'
import { SlewingClock } from './slewing-clock.js'
import { atArrival, createLocalClock } from './local-clock.js'
import { DEFAULT_PROBE_SCHEDULE, inBurst, probeGapUs } from './probe-schedule.js'
import { version } from './version.js'
import { setupServer } from './server.js'

const PLUGIN = 'clock-sync'

export interface ClockReading {
  /** Applied offset, server − local, µs (what `now()` adds to the local clock). */
  offsetUs: number
  /** The estimator's current target offset, µs (the applied one slews toward it). */
  estimatedOffsetUs: number
  /** Round-trip delay of the best recent probe, µs. */
  rttUs: number
  /** Estimated frequency error of the local clock against the server's, ppm (0 until trusted). */
  skewPpm: number
  /** Spread of recent offset samples, µs. */
  jitterUs: number
  /** Probe samples accepted so far on this connection. */
  samples: number
}

/** A client's clock as it reported it to the server (with its probes, `clock.ping` meta). */
export interface PeerClockReading {
  /** What the client adds to its clock to read the server's, µs (its current estimate). */
  offsetUs: number
  /** Round trip of its best recent probe, µs. */
  rttUs: number
  /** Spread of its recent offset samples, µs. */
  jitterUs: number
  /** Probe samples it had accepted. */
  samples: number
  /** When the report arrived (µs, the server's clock). */
  reportedAtUs: number
}

export interface ClockApi {
  /** µs in the server's timebase: synchronised on a client, the local monotonic clock on a server. Never decreases. */
  now(): number
  /** This side's own monotonic clock, µs (with `localOffsetMs` applied). */
  localNow(): number
  /** Maps a server-timebase time (e.g. a stream frame's wallTime) to this side's local clock. */
  toLocal(serverUs: number): number
  /** Maps a local time to the server's timebase. */
  fromLocal(localUs: number): number
  /** True once the first probe answered (always true on a server). */
  readonly synced: boolean
  reading(): ClockReading
  /** Calls `listener` whenever a probe changes the estimate; returns its unsubscribe. */
  onChange(listener: (reading: ClockReading) => void): () => void
  /** Resolves once `samples` probes were accepted (default: the connect burst); rejects with E_TIMEOUT. */
  whenSynced(options?: { samples?: number; timeoutMs?: number }): Promise<ClockReading>
  /**
   * Server: the latest reading the client of `session` reported (it rides on its probes), or
   * undefined before its first report (and always on a client). Informational: the client says
   * it, nothing checks it — for dashboards and metrics, never for decisions.
   */
  peerReading(session: Session): PeerClockReading | undefined
  /** Server: calls `listener` with every report a client makes; returns its unsubscribe. */
  onPeerReading(listener: (reading: PeerClockReading, session: Session) => void): () => void
}

declare module '@echostream/kernel' {
  interface KernelApi {
    clock: ClockApi
  }
}

/** The plugin's options, derived from the schema below; `now` (code only) gets its signature here. */
export type ClockSyncOptions = Omit<OptionsOf<typeof schema>, 'now'> & { now?: () => number }

export const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    localOffsetMs: { type: 'number', default: 0, description: "Shift this side's clock by a fixed amount (demos and tests of an offset peer)." },
    now: { description: 'Code only: a function returning local time in µs, replacing the platform clock.' },
    burstCount: { type: 'integer', minimum: 1, default: DEFAULT_PROBE_SCHEDULE.burstCount, description: 'Probes sent on connect.' },
    burstGapMs: { type: 'array', items: { type: 'number', minimum: 1 }, minItems: 2, maxItems: 2, default: [100, 250], description: 'Random gap between burst probes, [min, max] ms.' },
    intervalMs: { type: 'array', items: { type: 'number', minimum: 10 }, minItems: 2, maxItems: 2, default: [2000, 5000], description: 'Random gap between probes after the burst, [min, max] ms.' },
    maxSlewPpm: { type: 'number', minimum: 0, default: 500, description: 'Fastest correction of the applied offset, ppm (500 = 0.5 ms per second).' },
    stepThresholdMs: { type: 'number', minimum: 0, default: 128, description: 'Step instead of slewing when the error is larger than this.' },
  },
} as const

export default definePlugin<ClockSyncOptions, Pick<KernelApi, 'clock'>>({
  name: PLUGIN,
  version,
  kernel: '^1',
  provides: ['clock'],
  requires: ['transport', 'codec'],
  wire: 1,
  schema,
  setup(kernel, options) {
    if (options.now !== undefined && typeof options.now !== 'function') {
      throw clockErrors.badNow()
    }
    const local = createLocalClock({ offsetMs: options.localOffsetMs, now: options.now })
    const listeners = new Set<(reading: ClockReading) => void>()

    // The server is the reference timebase: it answers probes (server.ts; a page's bundle gets
    // server.browser.ts, which refuses).
    if (kernel.role === 'server') return setupServer(kernel, local)

    const schedule = {
      burstCount: options.burstCount,
      burstGapUs: [options.burstGapMs[0]! * 1000, options.burstGapMs[1]! * 1000] as const,
      steadyGapUs: [options.intervalMs[0]! * 1000, options.intervalMs[1]! * 1000] as const,
    }
    let estimator = new ClockEstimator()
    let clock = newClock()
    let session: Session | undefined
    let timer: ReturnType<typeof setTimeout> | undefined
    let probeIndex = 0
    let nextId = 1

    function newClock(): SlewingClock {
      return new SlewingClock({
        now: local.now,
        maxSlewPpm: options.maxSlewPpm,
        // Step freely during the connect burst (as chrony's `makestep`): the first estimates can be
        // milliseconds apart, and slewing those away at 0.5 ms/s would take seconds. Slew afterwards.
        stepThresholdUs: 0,
      })
    }

    function reading(): ClockReading {
      const applied = clock.appliedOffsetUs
      const target = estimator.sampleCount ? estimator.offsetUs(local.now()) : 0
      return {
        offsetUs: Number.isFinite(applied) ? applied : 0,
        estimatedOffsetUs: target,
        rttUs: estimator.sampleCount ? estimator.rttUs : 0,
        skewPpm: estimator.sampleCount ? estimator.skewPpm : 0,
        jitterUs: estimator.sampleCount ? estimator.jitterUs : 0,
        samples: estimator.stats.accepted,
      }
    }

    function probe(): void {
      timer = undefined
      if (!session || session.state !== 'open') return
      // The estimate so far rides along (`meta`), so the server can show and measure its clients'
      // clocks; a server that does not read it ignores it (optional field, wire 1 unchanged).
      // t1 is stamped last, just before the write: time spent building the meta must not sit between them.
      let meta: Frame['meta']
      if (estimator.sampleCount) {
        const r = reading()
        meta = { offsetUs: Math.round(r.estimatedOffsetUs), rttUs: Math.round(r.rttUs), jitterUs: Math.round(r.jitterUs), samples: r.samples }
      }
      session.send(meta ? { kind: 'clock.ping', id: nextId++, payload: local.now(), meta } : { kind: 'clock.ping', id: nextId++, payload: local.now() })
      probeIndex++
      // The probe just sent counts as taken until its answer says otherwise (probe-schedule.ts).
      scheduleProbe(probeGapUs(probeIndex, Math.random, schedule, estimator.stats.accepted + 1))
    }

    function scheduleProbe(gapUs: number): void {
      clearTimeout(timer)
      timer = setTimeout(probe, gapUs / 1000)
      timer.unref?.()
    }

    kernel.route('clock.pong', {
      handler(frame, _session, _size, arrivedAt) {
        const t4 = atArrival(local.now(), arrivedAt)
        const [t1, t2, t3] = Array.isArray(frame.payload) ? (frame.payload as number[]) : []
        const verdict = estimator.addSample({ t1: Number(t1), t2: Number(t2), t3: Number(t3), t4 })
        if (verdict === 'discarded' || verdict === 'outlier') {
          // A burst answer the estimator did not take is made up at the burst pace, not after a
          // steady gap (a pending burst probe moves by at most one burst gap).
          if (timer && inBurst(probeIndex, estimator.stats.accepted, schedule)) scheduleProbe(probeGapUs(probeIndex, Math.random, schedule, estimator.stats.accepted))
          return
        }
        if (estimator.stats.accepted >= options.burstCount) clock.stepThresholdUs = options.stepThresholdMs * 1000
        clock.setTarget((at) => estimator.offsetUs(at))
        const r = reading()
        for (const listener of listeners) {
          try {
            listener(r)
          } catch (error) {
            kernel.logger.error(`clock-sync listener failed: ${messageOf(error)}`)
          }
        }
      },
    })

    kernel.hooks.connect.tap(PLUGIN, (s) => {
      // A new connection may be a different server: start the estimate afresh.
      session = s
      estimator = new ClockEstimator()
      clock = newClock()
      probeIndex = 0
      scheduleProbe(0)
    })
    kernel.hooks.disconnect.tap(PLUGIN, () => {
      clearTimeout(timer)
      timer = undefined
      session = undefined
    })

    const api: ClockApi = {
      peerReading: () => undefined,
      onPeerReading: () => () => {},
      now: () => clock.read(),
      localNow: local.now,
      toLocal: (serverUs) => serverUs - (clock.synced ? clock.appliedOffsetUs : 0),
      fromLocal: (localUs) => localUs + (clock.synced ? clock.appliedOffsetUs : 0),
      get synced() {
        return clock.synced
      },
      reading,
      onChange(listener) {
        listeners.add(listener)
        return () => listeners.delete(listener)
      },
      whenSynced({ samples = options.burstCount, timeoutMs = 10_000 } = {}) {
        if (estimator.stats.accepted >= samples) return Promise.resolve(reading())
        return new Promise((resolve, reject) => {
          const deadline = setTimeout(() => {
            off()
            const { accepted, discarded, outliers } = estimator.stats
            reject(clockErrors.notSynced(accepted, samples, timeoutMs, discarded + outliers))
          }, timeoutMs)
          const off = api.onChange((r) => {
            if (r.samples < samples) return
            clearTimeout(deadline)
            off()
            resolve(r)
          })
        })
      },
    }
    kernel.expose('clock', api)
    return () => {
      clearTimeout(timer)
      listeners.clear()
    }
  },
})

export * from './core.js'
export { clockErrors, ClockSyncErrorCodes } from './errors.js'

declare module '@echostream/kernel' {
  /** For configs that name this plugin by string: the API it adds (see the kernel's config-types.ts). */
  interface PluginApis {
    '@echostream/plugin-clock-sync': Pick<KernelApi, 'clock'>
  }
}
