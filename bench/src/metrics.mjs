/**
 * What is measured, with which parameters, and how each result becomes table rows.
 * `quick` keeps the whole run under a minute; `full` is what the README quotes.
 */

export const params = {
  quick: {
    reps: 1,
    rpc: { inflight: 64, warmupMs: 200, rewarmMs: 100, durationMs: 800, slices: 2, maxCalls: 2_000_000 },
    latency: { warmupCalls: 500, warmupMs: 200, maxCalls: 3000, durationMs: 600 },
    fanout: { clients: 16, events: 4000, burst: 16, highWater: 256 * 1024, maxMs: 5000 },
    stream: { chunkBytes: 64 * 1024, warmupBytes: 32 << 20, totalBytes: 32 << 20, maxMs: 4000 },
    // Fewer connections than the full run's 10,000: per-connection figures move by a few percent;
    // the quick run is for a look, the full run for the record.
    memory: { connections: 500, batch: 100, maxMs: 30_000 },
    clock: { clients: 50, offsetMs: 10_000, intervalMs: 10, durationMs: 1000, maxSamples: 100, maxMs: 20_000 },
    coldstart: { runs: 1, maxMs: 15_000 },
    pipeline: { frames: 50_000, maxMs: 100, rounds: 60 },
    floor: { calls: 20_000, maxMs: 100, rounds: 10 },
  },
  full: {
    reps: 3,
    rpc: { inflight: 64, warmupMs: 1000, rewarmMs: 100, durationMs: 3000, slices: 6, maxCalls: 20_000_000 },
    latency: { warmupCalls: 3000, warmupMs: 1000, maxCalls: 20_000, durationMs: 4000 },
    fanout: { clients: 16, events: 25_000, burst: 16, highWater: 256 * 1024, maxMs: 15_000 },
    stream: { chunkBytes: 64 * 1024, warmupBytes: 256 << 20, totalBytes: 256 << 20, maxMs: 15_000 },
    memory: { connections: 10_000, batch: 100, maxMs: 120_000 },
    clock: { clients: 50, offsetMs: 10_000, intervalMs: 10, durationMs: 10_000, maxSamples: 1000, maxMs: 30_000 },
    coldstart: { runs: 5, maxMs: 15_000 },
    pipeline: { frames: 50_000, maxMs: 100, rounds: 200 },
    floor: { calls: 20_000, maxMs: 200, rounds: 40 },
  },
}

/**
 * `rpc.slices`: the measured time is cut into slices run peer after peer (warm-up `warmupMs` before
 * the first, `rewarmMs` to refill the 64 lanes before the others); the figure is Σ calls ÷ Σ time.
 */

/**
 * One entry per workload run by the runner. `group`: workloads of one group share a server and a
 * client process per peer (in this order), which saves process start-ups (tsx takes ~1 s); the
 * group is also the server's mode. `oneCore`: the runner re-pins both processes to the server's core for it.
 * `rows` turn one run's result into table values.
 * `better`: which way is good; `throughput`: the limit must win this row (else the harness is wrong);
 * `target`: the target for echostream, as a ratio to the limit.
 */
export const metrics = [
  {
    id: 'rpc',
    group: 'rpc',
    params: 'rpc',
    rows: [
      { id: 'rpc.calls', label: 'RPC calls/s, 64 in flight, 1 connection', unit: 'calls/s', better: 'higher', throughput: true, target: 0.95, value: (r) => r.value },
      // CPU time per call, read around the same window: far less sensitive to a noisy machine than
      // calls/s (which also depends on how fast the two processes wake each other).
      { id: 'rpc.serverCpu', label: '… server CPU per call (user + sys)', unit: 'µs', better: 'lower', value: (r) => r.serverCpuUs / r.calls },
      { id: 'rpc.clientCpu', label: '… client CPU per call (user + sys)', unit: 'µs', better: 'lower', value: (r) => r.clientCpuUs / r.calls },
    ],
  },
  {
    id: 'latency',
    group: 'rpc',
    params: 'latency',
    rows: [
      { id: 'latency.p50', label: 'RPC latency p50, 1 in flight, 2 cores', unit: 'µs', better: 'lower', value: (r) => r.p50 },
      { id: 'latency.p99', label: 'RPC latency p99, 1 in flight, 2 cores', unit: 'µs', better: 'lower', value: (r) => r.p99 },
    ],
  },
  {
    id: 'latency1',
    group: 'rpc',
    params: 'latency',
    oneCore: true,
    rows: [
      { id: 'latency1.p50', label: 'RPC latency p50, 1 in flight, one core', unit: 'µs', better: 'lower', target: 1.15, value: (r) => r.p50 },
      { id: 'latency1.p99', label: 'RPC latency p99, 1 in flight, one core', unit: 'µs', better: 'lower', value: (r) => r.p99 },
    ],
  },
  {
    id: 'fanout',
    group: 'rpc',
    params: 'fanout',
    rows: [{ id: 'fanout', label: 'event fan-out, deliveries/s (16 clients)', unit: 'events/s', better: 'higher', throughput: true, target: 0.95, value: (r) => r.value }],
  },
  {
    id: 'stream',
    group: 'stream',
    params: 'stream',
    rows: [{ id: 'stream', label: 'client→server stream, 64 KiB chunks, every option at its default', unit: 'MB/s', better: 'higher', throughput: true, target: 0.85, value: (r) => r.value }],
  },
  {
    // echostream with the streams plugin's windows set by hand (1 MiB per stream, 4 MiB per
    // connection, src/peers/echostream.mjs): what tuning buys over the defaults. The limit runs its
    // plain stream again in this group (the ratio's base, measured alongside); socket.io and
    // rpc-websockets have no such window.
    id: 'stream-tuned',
    group: 'stream-tuned',
    params: 'stream',
    rows: [{ id: 'stream.tuned', label: 'client→server stream, 64 KiB chunks, 1 MiB stream window (limit: its stream again)', unit: 'MB/s', better: 'higher', throughput: true, value: (r) => r.value }],
  },
  {
    id: 'memory',
    group: 'memory',
    params: 'memory',
    rows: [
      { id: 'memory.rss', label: 'server RSS per idle connection', unit: 'KiB', better: 'lower', value: (r) => r.rssPerConnection / 1024 },
      { id: 'memory.heap', label: 'server JS heap per idle connection', unit: 'KiB', better: 'lower', target: 1.0, value: (r) => r.heapPerConnection / 1024 },
    ],
  },
  {
    // Spawn to listening, every peer: node's start, module loading, (echostream) the config file
    // found and loaded, plugins resolved and validated, the port bound. Special-cased by the runner
    // (no client): a fresh process per run, src/cold-start.mjs.
    id: 'coldstart',
    group: 'coldstart',
    params: 'coldstart',
    rows: [{ id: 'coldstart', label: 'server cold start to listening (process start → port bound; echostream: from a config file)', unit: 'ms', better: 'lower', value: (r) => r.value }],
  },
  {
    // echostream only (the other peers skip it): how far the clients' synchronised clocks are from
    // the server's, read against the machine's monotonic clock, which every process shares, over
    // `durationMs` from the moment every client's whenSynced() resolved; and |applied − estimated
    // offset| then.
    id: 'clock',
    group: 'clock',
    params: 'clock',
    rows: [
      { id: 'clock.p50', label: 'clock-sync error p50 (absolute), 50 clients, client clocks offset +10 s, loopback', unit: 'µs', better: 'lower', value: (r) => r.p50 },
      { id: 'clock.p99', label: 'clock-sync error p99 (absolute), 50 clients, client clocks offset +10 s, loopback', unit: 'µs', better: 'lower', value: (r) => r.p99 },
      { id: 'clock.pending', label: '… still to slew when whenSynced() resolves (median over clients)', unit: 'µs', better: 'lower', value: (r) => r.pendingSlewUs },
    ],
  },
]

/** The RPC call floor (src/call-floor.mjs): one call's JavaScript, limit and echostream, one process, no sockets. */
export const floorRows = [
  { id: 'floor.limit', label: 'limit', unit: 'ns/call', better: 'lower', value: (r) => r.limit },
  { id: 'floor.kernel', label: 'echostream kernel + codec, no rpc plugin', unit: 'ns/call', better: 'lower', value: (r) => r.kernel },
  { id: 'floor.echostream', label: 'echostream', unit: 'ns/call', better: 'lower', value: (r) => r.echostream },
  ...['encode request', 'decode request', 'encode reply', 'decode reply'].flatMap((stage) =>
    ['limit', 'wire', 'echostream'].map((who) => ({ id: `floor.stage.${stage}.${who}`, label: `${stage} (${who})`, unit: 'ns', better: 'lower', value: (r) => r.stages?.codec[stage]?.[who] })),
  ),
]

/** The kernel micro-benchmark (echostream only, one process). */
export const pipelineRows = [
  { id: 'pipeline.send.direct', label: 'codec.encode + connection.send, no kernel', unit: 'ns/frame', better: 'lower', value: (r) => r.directSend0 },
  { id: 'pipeline.receive.direct', label: 'codec.decode + handler, no kernel', unit: 'ns/frame', better: 'lower', value: (r) => r.directReceive0 },
  ...[0, 1, 5].flatMap((taps) => [
    { id: `pipeline.send.${taps}`, label: `kernel send path, ${taps} outbound tap${taps === 1 ? '' : 's'}`, unit: 'ns/frame', better: 'lower', value: (r) => r[`send${taps}`] },
    { id: `pipeline.receive.${taps}`, label: `kernel receive path, ${taps} inbound tap${taps === 1 ? '' : 's'}`, unit: 'ns/frame', better: 'lower', value: (r) => r[`receive${taps}`] },
  ]),
]

/**
 * Browser bundle sizes (src/bundle-size.mjs; measured once per run, in the runner). Issue 12's
 * budget is in KB min+gzip (20 core, 30 full): the rows are KiB, as `test/browser/size-budget.test.ts` prints them.
 */
export const bundleRows = [
  { id: 'bundle.core', label: 'browser bundle, min+gzip (echostream: kernel, transport-ws, codec, rpc, events, reconnect)', unit: 'KiB', better: 'lower', value: (r) => r.core.gzip / 1024 },
  { id: 'bundle.core.min', label: '… minified, before gzip', unit: 'KiB', better: 'lower', value: (r) => r.core.min / 1024 },
  { id: 'bundle.full', label: '… echostream with streams and clock-sync, min+gzip', unit: 'KiB', better: 'lower', value: (r) => r.full?.gzip / 1024 },
]
