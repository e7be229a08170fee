#!/usr/bin/env node
// Long fuzz run against a real server process (see test/helpers/fuzz-run.ts):
//   node scripts/fuzz.mjs --seed 7 --frames 100000 [--connections 24] [--good 3] [--stall-ms 1000]
// Prints the counts (frames sent, error frames by code, closes by code, good calls ok/failed,
// server RSS/heap after GC before and after) and exits 1 when the server stalled, crashed, threw,
// a good call failed, a tick was missed, a hostile session stopped answering, or memory grew.
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

if (!process.execArgv.includes('--conditions=development')) {
  // Re-run under tsx with the workspace's source entries (as the tests run).
  const run = spawnSync(process.execPath, ['--conditions=development', '--import', 'tsx', fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ECHOSTREAM_CONDITIONS: 'development' },
  })
  process.exit(run.status ?? 1)
}

function argument(name, fallback) {
  const at = process.argv.indexOf(`--${name}`)
  if (at < 0) return fallback
  const value = Number(process.argv[at + 1])
  if (!Number.isFinite(value)) {
    console.error(`--${name} needs a number`)
    process.exit(2)
  }
  return value
}

const { runFuzz, formatReport, problems } = await import('../test/helpers/fuzz-run.ts')
const report = await runFuzz({
  seed: argument('seed', 1),
  frames: argument('frames', 100_000),
  connections: argument('connections', 24),
  goodClients: argument('good', 3),
  stallMs: argument('stall-ms', 1000),
  timeLimitMs: argument('time-limit-s', 900) * 1000,
  log: (line) => console.error(line),
})
console.log(formatReport(report))
const found = problems(report)
if (found.length > 0) console.log(`\nPROBLEMS:\n${found.join('\n')}`)
process.exit(found.length > 0 ? 1 : 0)
