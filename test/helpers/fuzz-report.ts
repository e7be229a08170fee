/**
 * The fuzz run's report (fuzz-run.ts): what was sent and what came back, counted; the server's
 * watchdog findings; and `problems()`, the one verdict the test and the script share.
 */

export interface ServerFailure {
  kind: 'stall' | 'hang' | 'crash' | 'uncaughtException' | 'unhandledRejection'
  detail: string
  /** The last cases sent before it (all connections), newest last. */
  recent: string[]
}

export interface FuzzReport {
  seed: number
  framesSent: number
  cases: Record<string, number>
  connections: number
  /** Connections by mode (CONNECTION_MODES), and resumes the server recovered. */
  modes: Record<string, number>
  /** Connections that could not be opened (the server refused or did not answer the upgrade). */
  refusedConnections: number
  /** `error` frames the server sent, by code. */
  errorFrames: Record<string, number>
  /** Plugin error replies (rpc.err, stream.abort), by kind:code. */
  pluginErrors: Record<string, number>
  /** Connections the server closed, by close code (the ones we closed are not counted). */
  serverCloses: Record<string, number>
  /** After each burst a probe call on the same connection: answered, closed meanwhile, or neither within 5 s. */
  probes: { answered: number; closed: number; unanswered: number; unansweredModes: Record<string, number> }
  good: { ok: number; failed: number; failures: string[]; ticks: number; tickGaps: number }
  server: { maxLagMs: number; peakRss: number; before: Memory; after: Memory; failures: ServerFailure[] }
  durationMs: number
}

export interface Memory {
  rss: number
  heapUsed: number
  sessions: number
}

export function bump(counts: Record<string, number>, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by
}

const MiB = 1024 * 1024

/**
 * Bounds on the server's memory over the run's start: the heap after GC (hostile sessions gone:
 * ~2–3 MiB measured), and RSS at its peak (+110–135 MiB measured: slow consumers each hold up to
 * their 8 MiB outbound budget plus socket buffers, and RSS keeps what the allocator got). One
 * 2^25-element array bomb cost 256 MiB before the codec's scan; 100 of them tripled RSS.
 */
export const MEMORY_BOUNDS = { heapGrowth: 32 * MiB, peakRssGrowth: 320 * MiB }

/**
 * What went wrong, as lines (empty: the run passed): a server stall, hang, crash, uncaught
 * exception or unhandled rejection; a good call that failed or a tick it missed; a hostile
 * session that stopped answering; memory that grew beyond MEMORY_BOUNDS; sessions left behind.
 */
export function problems(report: FuzzReport): string[] {
  const out: string[] = []
  for (const failure of report.server.failures) out.push(`server ${failure.kind}: ${failure.detail.slice(0, 500)}\n  last cases: ${failure.recent.slice(-10).join('\n    ')}`)
  if (report.good.failed > 0) out.push(`${report.good.failed} good calls failed: ${report.good.failures.join('; ')}`)
  if (report.good.tickGaps > 0) out.push(`good clients missed broadcast ticks (${report.good.tickGaps} gaps)`)
  if (report.probes.unanswered > 0) out.push(`${report.probes.unanswered} hostile sessions stopped answering (probe call unanswered, session not closed), by connection mode: ${JSON.stringify(report.probes.unansweredModes)}`)
  const { before, after } = report.server
  if (after.heapUsed === 0) out.push('no memory reading after the run')
  else {
    if (after.heapUsed - before.heapUsed > MEMORY_BOUNDS.heapGrowth) out.push(`server heap after GC grew by ${((after.heapUsed - before.heapUsed) / MiB).toFixed(1)} MiB (bound ${MEMORY_BOUNDS.heapGrowth / MiB})`)
    if (after.sessions > before.sessions) out.push(`${after.sessions - before.sessions} sessions left on the server after every hostile connection closed and the grace period passed`)
  }
  if (report.server.peakRss - before.rss > MEMORY_BOUNDS.peakRssGrowth) out.push(`server RSS peaked ${((report.server.peakRss - before.rss) / MiB).toFixed(1)} MiB above its start (bound ${MEMORY_BOUNDS.peakRssGrowth / MiB})`)
  return out
}

/** The report as the lines the script prints. */
export function formatReport(report: FuzzReport): string {
  const sorted = (counts: Record<string, number>) =>
    Object.entries(counts)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || 'none'
  const mem = (m: Memory) => `RSS ${(m.rss / MiB).toFixed(1)} MiB, heap ${(m.heapUsed / MiB).toFixed(1)} MiB, ${m.sessions} sessions`
  return [
    `seed ${report.seed}: ${report.framesSent} frames sent over ${report.connections} connections (${report.refusedConnections} refused) in ${(report.durationMs / 1000).toFixed(1)} s`,
    `connection modes: ${sorted(report.modes)}`,
    `cases: ${sorted(report.cases)}`,
    `error frames by code: ${sorted(report.errorFrames)}`,
    `plugin error replies: ${sorted(report.pluginErrors)}`,
    `closes by the server, by code: ${sorted(report.serverCloses)}`,
    `probe calls after each burst: ${report.probes.answered} answered, ${report.probes.closed} closed meanwhile, ${report.probes.unanswered} unanswered`,
    `good clients: ${report.good.ok} calls ok, ${report.good.failed} failed; ${report.good.ticks} ticks, ${report.good.tickGaps} gaps${report.good.failures.length ? `\n  ${report.good.failures.join('\n  ')}` : ''}`,
    `server: max event-loop lag ${report.server.maxLagMs} ms, peak RSS ${(report.server.peakRss / MiB).toFixed(1)} MiB`,
    `server memory after GC: before ${mem(report.server.before)}; after ${mem(report.server.after)}`,
    ...report.server.failures.map((f) => `SERVER ${f.kind}: ${f.detail}\n  last cases:\n    ${f.recent.join('\n    ')}`),
  ].join('\n')
}
