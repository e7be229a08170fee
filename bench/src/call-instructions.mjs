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
 *
 * `--socket`: the same count over a real WebSocket instead (socket-calls.mjs: a peer's server and
 * client in one process on 127.0.0.1, one call at a time; modes are then peers, default
 * limit,echostream). It adds what the floor leaves out — ws framing and masking, transport-ws, the
 * kernel's connection glue, the socket calls' JavaScript side — and is the load-independent form
 * of the RPC rows' "CPU per call" (client and server together; the kernel's own work in the
 * syscalls is not counted). `--batch`: calls in batches of 64 (the calls/s row's steady state).
 * `--fanout`: one event at a time broadcast to 16 clients.
 * Over sockets the event loop's timing still moves a run by a few percent: use a large `calls`.
 *
 *   node src/call-instructions.mjs --socket|--batch|--fanout [limit,echostream] [calls]
 *
 * `--receive`: one event delivered on the receiving side, no sockets (receive-path.mjs: kernel,
 * codec, events and listener against msgpackr's unpack and a Map), the part of a fan-out client's
 * work that is echostream's own. Runs of 4 × BASE and 4 × (BASE + calls) events, as the others.
 *
 *   node src/call-instructions.mjs --receive [limit,echostream] [events]
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const argv = process.argv.slice(2)
const receive = argv[0] === '--receive'
if (receive) argv.shift()
const workload = { '--socket': 'call', '--batch': 'batch', '--fanout': 'fanout' }[argv[0]]
const socket = workload !== undefined
if (socket) argv.shift()
const modes = (argv[0] ?? (socket || receive ? 'limit,echostream' : 'limit,kernel,echostream')).split(',')
const calls = Number(argv[1] ?? 10_000)
// A fan-out event is 16 deliveries: an eighth of the calls' base keeps a run to minutes.
const BASE = workload === 'fanout' ? 500 : 4000
const script = fileURLToPath(new URL(socket ? './socket-calls.mjs' : receive ? './receive-path.mjs' : './call-floor.mjs', import.meta.url))

/**
 * Instructions callgrind counted for one run in `mode` with `n` calls: the floor makes 4 rounds of
 * `n` (three warm-up, one measured), socket-calls one run of 4 × `n`.
 */
async function instructions(mode, n) {
  const spec = JSON.stringify(socket ? { peer: mode, workload, count: 4 * n } : receive ? { only: mode, count: 4 * n } : { only: mode, params: { calls: n, rounds: 1, maxMs: 1e9 } })
  const args = ['--tool=callgrind', '--smc-check=all-non-file', '--callgrind-out-file=/dev/null', process.execPath, '--single-threaded', '--predictable', '--random-seed=1', script]
  const { stderr } = await run('valgrind', args, { env: { ...process.env, BENCH_SPEC: spec }, maxBuffer: 64 << 20 })
  const collected = stderr.match(/Collected : (\d+)/)
  if (!collected) throw new Error(`callgrind printed no total for ${mode}:\n${stderr.slice(-2000)}`)
  return Number(collected[1])
}

console.log(`| mode | instructions per ${workload === 'fanout' ? 'event (16 deliveries)' : receive ? 'delivered event' : 'call'} |\n| --- | ---: |`)
for (const mode of modes) {
  const [small, large] = await Promise.all([instructions(mode, BASE), instructions(mode, BASE + calls)])
  console.log(`| ${mode} | ${Math.round((large - small) / (4 * calls)).toLocaleString('en-US')} |`)
}
