/**
 * The server's Prometheus metrics. Per-frame counting is on the hot path, so frames and bytes go
 * to plain numbers in a Map keyed by kind (one lookup and two additions per frame) and are copied
 * into prom-client's counters only when `/metrics` is scraped (`collect`). Calling prom-client's
 * labelled `inc` per frame would hash the labels every time.
 */
import { Counter, Gauge, Histogram, Registry, Summary, collectDefaultMetrics } from 'prom-client'
import type { EchoKernel, KernelStats } from '@echostream/kernel'
import type { ObservabilityOptions } from './options.js'

/** Frames and bytes of one kind in one direction. */
export interface KindCount {
  frames: number
  bytes: number
}

/** Counts per frame kind; a peer cannot grow it without bound: kinds past `maxKinds` are counted as 'other'. */
export class KindTable {
  readonly counts = new Map<string, KindCount>()
  constructor(readonly maxKinds = 200) {}

  add(kind: string, bytes: number): void {
    let c = this.counts.get(kind)
    if (c === undefined) {
      if (this.counts.size >= this.maxKinds) kind = 'other'
      c = this.counts.get(kind)
      if (c === undefined) this.counts.set(kind, (c = { frames: 0, bytes: 0 }))
    }
    c.frames++
    c.bytes += bytes
  }
}

/**
 * Sets a counter from a source of truth at scrape time (`collect`): prom-client counters only go
 * up, so reset and add the totals (the values never decrease, so scrapers see a monotonic series).
 */
function setCounter(counter: Counter<string>, values: Array<[Record<string, string>, number]>): void {
  counter.reset()
  for (const [labels, value] of values) if (value > 0) counter.inc(labels, value)
}

export interface Metrics {
  registry: Registry
  inbound: KindTable
  outbound: KindTable
  rpcDuration: Histogram<'method' | 'code'>
  errors: Counter<'code' | 'source'>
  connects: Counter<string>
  disconnects: Counter<'code'>
  refusals: Counter<'code'>
  resumes: Counter<string>
  clockOffset: Summary<string>
  clockRtt: Summary<string>
}

export function createMetrics(kernel: EchoKernel, options: ObservabilityOptions): Metrics {
  const registry = new Registry()
  const p = options.prefix
  const inbound = new KindTable()
  const outbound = new KindTable()
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: p })

  new Gauge({
    name: `${p}sessions`,
    help: 'Sessions by state (open, suspended awaiting a resume, handshaking).',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const by: Record<string, number> = { open: 0, suspended: 0, handshaking: 0 }
      for (const s of kernel.sessions()) by[s.state] = (by[s.state] ?? 0) + 1
      for (const [state, n] of Object.entries(by)) this.set({ state }, n)
    },
  })

  const frameCounters = (dir: 'in' | 'out', table: KindTable) => {
    const sent = dir === 'in' ? 'received' : 'sent'
    for (const [what, help, field] of [
      ['frames', `Frames ${sent}, by frame kind.`, 'frames'],
      ['bytes', `Encoded bytes ${sent} (whole messages), by frame kind.`, 'bytes'],
    ] as const) {
      new Counter({
        name: `${p}${what}_${dir}_total`,
        help,
        labelNames: ['kind'],
        registers: [registry],
        collect() {
          setCounter(this, [...table.counts].map(([kind, c]) => [{ kind }, c[field]]))
        },
      })
    }
  }
  frameCounters('in', inbound)
  frameCounters('out', outbound)

  const kernelCounter = (name: string, help: string, key: keyof KernelStats, labels: Record<string, string> = {}) => {
    const counter: Counter<string> = new Counter({
      name: `${p}${name}`,
      help,
      labelNames: Object.keys(labels),
      registers: [registry],
      collect() {
        setCounter(counter, [[labels, kernel.stats()[key] ?? 0]])
      },
    })
    return counter
  }
  // The kernel's budget counters: one metric, the action as a label.
  const slow: Counter<'action'> = new Counter({
    name: `${p}slow_consumer_total`,
    help: "Outbound-budget actions: 'close' (session closed with 4009) and 'drop' (volatile frame dropped).",
    labelNames: ['action'],
    registers: [registry],
    collect() {
      const stats = kernel.stats()
      setCounter(slow, [
        [{ action: 'close' }, stats.slowConsumerCloses],
        [{ action: 'drop' }, stats.volatileDropped],
      ])
    },
  })
  kernelCounter('payload_too_large_total', "Sends refused because the frame exceeded the peer's maxPayload.", 'tooLarge')
  kernelCounter('fanout_failures_total', 'Sessions a broadcast failed for (isolated, counted).', 'fanoutFailures')
  kernelCounter('encodes_total', 'Frames encoded (a broadcast encodes once).', 'encodes')

  return {
    registry,
    inbound,
    outbound,
    rpcDuration: new Histogram({
      name: `${p}rpc_duration_seconds`,
      help: "Server-side RPC latency by method: from the request's arrival to its reply being sent (code 'ok' or the error code).",
      labelNames: ['method', 'code'],
      buckets: options.rpcBuckets,
      registers: [registry],
    }),
    errors: new Counter({
      name: `${p}errors_total`,
      help: "Errors by code and source: 'protocol' (bad frames, refusals), 'rpc' (error replies the server sent).",
      labelNames: ['code', 'source'],
      registers: [registry],
    }),
    connects: new Counter({ name: `${p}connects_total`, help: 'Sessions that passed the handshake.', registers: [registry] }),
    disconnects: new Counter({ name: `${p}disconnects_total`, help: 'Sessions that ended, by close code.', labelNames: ['code'], registers: [registry] }),
    refusals: new Counter({ name: `${p}handshake_refusals_total`, help: 'Handshakes refused, by error code.', labelNames: ['code'], registers: [registry] }),
    resumes: new Counter({ name: `${p}resumes_total`, help: 'Suspended sessions resumed on a new connection (reconnect).', registers: [registry] }),
    // Clients' clocks as they report them with their probes (clock-sync): a sliding 10-minute window.
    clockOffset: new Summary({
      name: `${p}clock_offset_seconds`,
      help: "Clients' clock offsets as they report them (clock-sync): what a client adds to its clock to read the server's; one observation per report (every 2-5 s per client).",
      percentiles: [0.01, 0.5, 0.99],
      maxAgeSeconds: 600,
      ageBuckets: 5,
      registers: [registry],
    }),
    clockRtt: new Summary({
      name: `${p}clock_rtt_seconds`,
      help: "Round trip of clients' best recent clock probe, as they report it (clock-sync).",
      percentiles: [0.5, 0.9, 0.99],
      maxAgeSeconds: 600,
      ageBuckets: 5,
      registers: [registry],
    }),
  }
}
