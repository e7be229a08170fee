#!/usr/bin/env node
/**
 * Top functions by self time in a V8 .cpuprofile (what `node --cpu-prof` writes).
 *   node src/profile-summary.mjs FILE.cpuprofile [N] [FROM_US TO_US]
 * Self time of a node = the sampling intervals whose sample landed on it; nodes of the same
 * function (name + script + line) are added up across call paths.
 */
import { readFileSync } from 'node:fs'
import { basename, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The workspace root (bench/src/../..): workspace files are shown relative to it (kernel/dist/kernel.js). */
const ROOT = fileURLToPath(new URL('../..', import.meta.url))

function where(frame) {
  const url = frame.url || ''
  if (!url) return ''
  let path = url
  if (url.startsWith('file://')) {
    path = fileURLToPath(url)
    const pnpm = path.indexOf('/node_modules/.pnpm/')
    if (pnpm >= 0) path = path.slice(path.indexOf('/node_modules/', pnpm + 20) + 14)
    else if (path.startsWith(ROOT)) path = relative(ROOT, path).split(sep).join('/')
    else path = basename(path)
  }
  return `${path}:${frame.lineNumber + 1}`
}

/** `window`: [fromUs, toUs] on the profile's clock (CLOCK_MONOTONIC µs) to keep only the measured phase. */
export function topSelfTime(profile, n = 15, window) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const self = new Map()
  const { samples, timeDeltas } = profile
  let t = profile.startTime
  for (let i = 0; i < samples.length; i++) {
    // timeDeltas[i] is the time since the previous sample; attribute the interval to sample i.
    const dt = timeDeltas[i] ?? 0
    t += dt
    if (window && (t < window[0] || t > window[1])) continue
    self.set(samples[i], (self.get(samples[i]) ?? 0) + Math.max(0, dt))
  }
  const byFunction = new Map()
  let total = 0
  for (const [id, us] of self) {
    const frame = byId.get(id).callFrame
    const name = frame.functionName || '(anonymous)'
    const key = `${name}\u0000${frame.url}\u0000${frame.lineNumber}`
    const entry = byFunction.get(key) ?? { name, where: where(frame), us: 0 }
    entry.us += us
    byFunction.set(key, entry)
    total += us
  }
  const all = [...byFunction.values()].sort((a, b) => b.us - a.us)
  const byArea = new Map()
  for (const e of all) byArea.set(areaOf(e), (byArea.get(areaOf(e)) ?? 0) + e.us)
  return { totalUs: total, top: all.slice(0, n), areas: [...byArea].sort((a, b) => b[1] - a[1]) }
}

/** Where a function lives: a package (ws, msgpackr…), a workspace package folder, node internals, or a V8 bucket. */
function areaOf(entry) {
  const w = entry.where
  if (!w) return entry.name.startsWith('(') && entry.name !== '(anonymous)' ? entry.name : 'native (C++ / syscalls)'
  if (w.startsWith('node:')) return 'node internals'
  const ws = w.match(/^(kernel|bench|plugins\/[^/]+|presets\/[^/]+)\//)
  if (ws) return ws[1]
  const pkg = w.match(/^(@[^/]+\/[^/]+|[^/]+)\//)
  return pkg ? pkg[1] : w
}

export function summariseProfile(file, n = 15, window) {
  const profile = JSON.parse(readFileSync(file, 'utf8'))
  const { totalUs, top, areas } = topSelfTime(profile, n, window)
  const idle = areas.find(([a]) => a === '(idle)')?.[1] ?? 0
  const span = window ? `the measured window (${((window[1] - window[0]) / 1000).toFixed(0)} ms)` : 'the whole process'
  const lines = [`${(totalUs / 1000).toFixed(0)} ms sampled over ${span}, ${((100 * idle) / totalUs).toFixed(1)}% idle\n`, '| # | self ms | self % | function | where |', '| ---: | ---: | ---: | --- | --- |']
  top.forEach((e, i) => lines.push(`| ${i + 1} | ${(e.us / 1000).toFixed(1)} | ${((100 * e.us) / totalUs).toFixed(1)} | \`${e.name}\` | ${e.where} |`))
  const busy = totalUs - idle
  lines.push('', `Busy time by area (${(busy / 1000).toFixed(0)} ms = 100%): ${areas.filter(([a]) => a !== '(idle)').slice(0, 10).map(([a, us]) => `${a} ${((100 * us) / busy).toFixed(0)}%`).join(', ')}`)
  return lines.join('\n') + '\n'
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [file, n, from, to] = process.argv.slice(2)
  if (!file) {
    console.error('usage: node src/profile-summary.mjs FILE.cpuprofile [N] [FROM_US TO_US]')
    process.exit(2)
  }
  console.log(summariseProfile(file, Number(n) || 15, from && to ? [Number(from), Number(to)] : undefined))
}
