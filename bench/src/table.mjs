/** Medians, spreads, ratios to the limit, and the markdown table. */

export function median(values) {
  const s = [...values].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** One entry per table row: per peer the values of every repetition, median, min, max. */
/** `extras`: rows of one-process micro-benchmarks, `[{ id: 'pipeline', rows }]`, run as peer echostream. */
export function summarise(runs, metrics, extras, peerNames) {
  const rows = []
  const add = (row, metricId) => {
    const out = { id: row.id, label: row.label, unit: row.unit, better: row.better, throughput: Boolean(row.throughput), target: row.target, peers: {} }
    for (const peer of peerNames) {
      const mine = runs.filter((r) => r.metric === metricId && r.peer === peer)
      if (mine.length === 0) continue
      const skipped = mine.find((r) => r.skipped)
      if (skipped) {
        out.peers[peer] = { skipped: skipped.skipped }
        continue
      }
      const values = mine.filter((r) => r.ok).map((r) => row.value(r.result)).filter((v) => Number.isFinite(v))
      const failed = mine.filter((r) => !r.ok).length
      out.peers[peer] = values.length ? { values, median: median(values), min: Math.min(...values), max: Math.max(...values), failed } : { failed }
    }
    rows.push(out)
  }
  for (const m of metrics) for (const row of m.rows) add(row, m.id)
  for (const extra of extras) for (const row of extra.rows) add(row, extra.id)
  const limit = peerNames.includes('limit') ? 'limit' : undefined
  for (const row of rows) {
    const base = limit && row.peers[limit]?.median
    for (const [name, cell] of Object.entries(row.peers)) if (cell.median !== undefined && base) cell.ratio = cell.median / base
  }
  return rows
}

/** Every throughput row must have the limit on top (but for peers it does not bound, `exempt`); returns the rows where it is not. */
export function limitCheck(rows, exempt = new Set()) {
  const failures = []
  for (const row of rows.filter((r) => r.throughput)) {
    for (const [name, cell] of Object.entries(row.peers)) {
      if (exempt.has(name)) continue
      if (cell.ratio !== undefined && cell.ratio > 1) failures.push(`${row.label}: ${name} ${cell.ratio.toFixed(2)}×`)
    }
  }
  return { ok: failures.length === 0, failures }
}

export function fmt(v, unit) {
  if (v === undefined || !Number.isFinite(v)) return '—'
  if (unit === 'calls/s' || unit === 'events/s') {
    if (v >= 1e6) return `${(v / 1e6).toFixed(2)} M`
    if (v >= 1e3) return `${(v / 1e3).toFixed(1)} k`
    return v.toFixed(0)
  }
  if (v >= 1000) return Math.round(v).toLocaleString('en-US')
  if (v >= 100) return v.toFixed(0)
  if (v >= 10) return v.toFixed(1)
  return v.toFixed(2)
}

function cell(c, unit) {
  if (!c) return '—'
  if (c.skipped) return 'n/a¹'
  // No value and no failure: the row does not apply to this peer (e.g. only echostream has a full bundle).
  if (c.median === undefined) return c.failed ? 'failed' : '—'
  const spread = c.values.length > 1 ? ` (${fmt(c.min, unit)}–${fmt(c.max, unit)})` : ''
  return `${fmt(c.median, unit)}${spread}${c.failed ? ` [${c.failed} failed]` : ''}`
}

function ratio(c) {
  return c?.ratio === undefined ? '—' : `${c.ratio.toFixed(2)}×`
}

function target(row, echo) {
  if (row.target === undefined) return ''
  const op = row.better === 'higher' ? '≥' : '≤'
  if (echo?.ratio === undefined) return `${op} ${row.target.toFixed(2)}×`
  const met = row.better === 'higher' ? echo.ratio >= row.target : echo.ratio <= row.target
  return `${op} ${row.target.toFixed(2)}× ${met ? '✓' : '✗'}`
}

export function renderTable(rows, peerNames, info) {
  const hasLimit = peerNames[0] === 'limit'
  const [limit, ...others] = hasLimit ? peerNames : [undefined, ...peerNames]
  const main = rows.filter((r) => !r.id.startsWith('pipeline.') && !r.id.startsWith('floor.'))
  const lines = []
  lines.push(`\n## echostream bench — ${info.mode}, median of ${info.reps} (min–max), ${hasLimit ? `ratio = peer ÷ ${limit}` : 'no ratios (the limit was not run)'}\n`)
  lines.push(`Machine: ${info.machine.cpus} × ${info.machine.cpuModel}, ${info.machine.memoryGiB} GiB, Node ${info.machine.node}; ${info.machine.pinning.enabled ? `server pinned to cpu ${info.machine.pinning.server}, client to cpu ${info.machine.pinning.client}` : `not pinned (${info.machine.pinning.why})`}; ws native addons ${info.machine.wsNative.useNative ? 'on' : 'off'} for every peer; load average ${info.machine.loadavgStart[0].toFixed(1)} at the start, ${info.machine.loadavg[0].toFixed(1)} at the end; ${info.elapsedS.toFixed(0)} s.\n`)
  if (main.length) {
    const header = ['metric', 'unit', ...(hasLimit ? [limit] : []), ...others.flatMap((p) => (hasLimit ? [p, `${p} ÷ ${limit}`] : [p]))]
    if (hasLimit && others.includes('echostream')) header.push('echostream target')
    lines.push(`| ${header.join(' | ')} |`)
    lines.push(`|${header.map((h, i) => (i < 2 ? ' --- ' : ' ---: ')).join('|')}|`)
    for (const row of main) {
      const arrow = row.better === 'higher' ? '↑' : '↓'
      const cells = [row.label, `${row.unit} ${arrow}`, ...(hasLimit ? [cell(row.peers[limit], row.unit)] : []), ...others.flatMap((p) => (hasLimit ? [cell(row.peers[p], row.unit), ratio(row.peers[p])] : [cell(row.peers[p], row.unit)]))]
      if (hasLimit && others.includes('echostream')) cells.push(target(row, row.peers.echostream))
      lines.push(`| ${cells.join(' | ')} |`)
    }
    // One line per reason, naming every peer it applies to.
    const byReason = new Map()
    for (const row of main) for (const [p, c] of Object.entries(row.peers)) if (c.skipped) byReason.set(c.skipped, new Set([...(byReason.get(c.skipped) ?? []), p]))
    if (byReason.size) lines.push(`\n¹ ${[...byReason].map(([why, who]) => `${[...who].join(', ')}: ${why}`).join('; ')}.`)
    for (const note of info.notes ?? []) lines.push(`\n${note}`)
    if (info.memoryConnections && main.some((r) => r.id.startsWith('memory.'))) lines.push(`\nMemory rows: (RSS or heap with ${info.memoryConnections.toLocaleString('en-US')} idle connections − with none) ÷ ${info.memoryConnections.toLocaleString('en-US')}, after global.gc().`)
  }
  const floor = rows.filter((r) => r.id.startsWith('floor.'))
  if (floor.length) {
    const at = (id) => floor.find((r) => r.id === id)?.peers.echostream
    const over = (a, b) => (a?.median && b?.median ? `${(a.median / b.median).toFixed(2)}×` : '—')
    const limitCell = at('floor.limit')
    lines.push(`\n### RPC call floor (one process on one core, no sockets: one call's JavaScript, CPU time; src/call-floor.mjs)\n`)
    lines.push('| limit, ns/call ↓ | echostream kernel + codec (limit\'s bookkeeping, no rpc plugin) | echostream | echostream ÷ limit |')
    lines.push('| ---: | ---: | ---: | ---: |')
    lines.push(`| ${cell(limitCell, 'ns/call')} | ${cell(at('floor.kernel'), 'ns/call')} (${over(at('floor.kernel'), limitCell)}) | ${cell(at('floor.echostream'), 'ns/call')} | ${over(at('floor.echostream'), limitCell)} |`)
    const stages = ['encode request', 'decode request', 'encode reply', 'decode reply']
    if (at(`floor.stage.${stages[0]}.limit`)) {
      lines.push(`\nThe codec's part, per message, ns ↓ (tight loops, fastest round): the limit's message by its Packr; echostream's message by the same Packr (the wire format's cost: kind strings, longer arrays); echostream's codec.\n`)
      lines.push('| stage | limit | echostream message, limit\'s Packr | echostream codec |')
      lines.push('| --- | ---: | ---: | ---: |')
      for (const stage of stages) lines.push(`| ${stage} | ${cell(at(`floor.stage.${stage}.limit`), 'ns')} | ${cell(at(`floor.stage.${stage}.wire`), 'ns')} | ${cell(at(`floor.stage.${stage}.echostream`), 'ns')} |`)
    }
  }
  const pipe = rows.filter((r) => r.id.startsWith('pipeline.'))
  if (pipe.length) {
    lines.push(`\n### Kernel pipeline overhead (echostream kernel only, one process, in-memory codec and connection)\n`)
    lines.push('| middleware taps | send path, ns/frame ↓ | receive path, ns/frame ↓ |')
    lines.push('| ---: | ---: | ---: |')
    for (const taps of ['direct', 0, 1, 5]) {
      const s = pipe.find((r) => r.id === `pipeline.send.${taps}`)?.peers.echostream
      const r = pipe.find((r) => r.id === `pipeline.receive.${taps}`)?.peers.echostream
      lines.push(`| ${taps === 'direct' ? 'no kernel (codec + connection called directly)' : taps} | ${cell(s, 'ns/frame')} | ${cell(r, 'ns/frame')} |`)
    }
  }
  return lines.join('\n')
}
