/**
 * The call floor (call-floor.mjs) counted in machine instructions instead of CPU time: what one
 * call costs, the same whatever else the machine is doing. On this shared 2-core machine the
 * CPU-time floor moves by 30 % with the load (hyper-threads share a core); instructions under
 * valgrind's callgrind, with V8 made deterministic (`--single-threaded --predictable
 * --random-seed`), repeat to within 0.1 % (18,362 and 18,357 per call in two runs at load 10).
 *
 * Each mode runs twice, with 4 × BASE and 4 × (BASE + calls) calls (call-floor's three warm-up
 * rounds and one measured round); the difference of the two totals ÷ 4 × calls is the cost of one
 * call, start-up cancelling out. BASE is large enough that V8's compilations (on the main thread
 * here) happen in both runs: with 1,000 the limit's difference still held some of them. Slow —
 * valgrind runs JIT code ~700× slower: minutes per mode at the default 10,000 calls.
 *
 *   node src/call-instructions.mjs [limit,kernel,echostream] [calls]      (from bench/; needs valgrind)
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const modes = (process.argv[2] ?? 'limit,kernel,echostream').split(',')
const calls = Number(process.argv[3] ?? 10_000)
const BASE = 4000
const floor = fileURLToPath(new URL('./call-floor.mjs', import.meta.url))

/** Instructions callgrind counted for one run of the floor in `mode` with `n` calls per round. */
async function instructions(mode, n) {
  const spec = JSON.stringify({ only: mode, params: { calls: n, rounds: 1, maxMs: 1e9 } })
  const args = ['--tool=callgrind', '--smc-check=all-non-file', '--callgrind-out-file=/dev/null', process.execPath, '--single-threaded', '--predictable', '--random-seed=1', floor]
  const { stderr } = await run('valgrind', args, { env: { ...process.env, BENCH_SPEC: spec }, maxBuffer: 64 << 20 })
  const collected = stderr.match(/Collected : (\d+)/)
  if (!collected) throw new Error(`callgrind printed no total for ${mode}:\n${stderr.slice(-2000)}`)
  return Number(collected[1])
}

console.log('| mode | instructions per call |\n| --- | ---: |')
for (const mode of modes) {
  const [small, large] = await Promise.all([instructions(mode, BASE), instructions(mode, BASE + calls)])
  console.log(`| ${mode} | ${Math.round((large - small) / (4 * calls)).toLocaleString('en-US')} |`)
}
