/**
 * One command (`pnpm --filter @echostream/example-dispatcher start`): three worker processes,
 * the dispatcher, three sessions sending 20 utterances each. Midway one worker is killed
 * (SIGKILL) and started again on the same port. Prints each session's results as they arrive in
 * order, then a summary and the dispatcher's lines of `/metrics`. Exits 0 when every session got
 * every result once, in order, with the right text. DEMO_UTTERANCES and DEMO_SEED change the run.
 */
import { seededRandom } from '@echostream/kernel'
import { startDispatcher } from './src/dispatcher.js'
import { concat, infer, utteranceAudio } from './src/model.js'
import { openSession } from './src/session.js'
import { freePort, spawnWorker, type WorkerProcess } from './src/spawn.js'

const UTTERANCES = Number(process.env.DEMO_UTTERANCES ?? 20)
const SEED = Number(process.env.DEMO_SEED ?? 7)
const specs = [
  { id: 'w1', caps: 'recognise,translate' },
  { id: 'w2', caps: 'recognise' },
  { id: 'w3', caps: 'recognise,diarise' },
]
const args = (id: string, caps: string, port: number) => ['--id', id, '--caps', caps, '--port', String(port), '--slots', '2', '--delay-ms', '30,120,600']
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const workers: WorkerProcess[] = []
process.on('exit', () => workers.forEach((w) => w.child.kill('SIGKILL')))

console.log('starting 3 workers…')
const ports = await Promise.all(specs.map(() => freePort()))
workers.push(...(await Promise.all(specs.map((s, i) => spawnWorker(args(s.id, s.caps, ports[i]!))))))
for (const w of workers) console.log(`  ${w.id} on ${w.url} (pid ${w.child.pid})`)

const dispatcher = await startDispatcher({ workers: workers.map((w) => w.url), metrics: { port: 0 }, logLevel: 'warn', heartbeatTimeoutMs: 800 })
console.log(`dispatcher on ${dispatcher.url}, metrics at ${dispatcher.metricsUrl}`)
while (dispatcher.workers().filter((w) => w.state === 'ready').length < 3) await sleep(20)

const caps = ['recognise', 'translate', 'diarise']
const capabilityOf = (s: number, i: number) => (i % 3 === 0 ? caps[s % 3]! : 'recognise')
const audioOf = (s: number, i: number) => utteranceAudio(SEED * 10_000 + s * 1000 + i, 4, 320)
const sessions = await Promise.all([0, 1, 2].map(() => openSession(dispatcher.url)))
sessions.forEach((session, s) =>
  session.onResult((r) => console.log(`  session ${s} #${String(r.index).padStart(2)} ${r.capability.padEnd(9)} ${r.worker} (try ${r.attempts}, ${r.latencyMs} ms): ${r.text ?? r.error?.code}`)),
)

const random = seededRandom(SEED)
const sending = sessions.map(async (session, s) => {
  for (let i = 0; i < UTTERANCES; i++) {
    await session.send(i, capabilityOf(s, i), audioOf(s, i))
    await sleep(50 + random() * 100)
  }
})
await sleep(UTTERANCES * 40)
const victim = workers[Math.floor(random() * workers.length)]!
console.log(`--- kill -9 ${victim.id} (pid ${victim.child.pid}) ---`)
await victim.kill('SIGKILL')
const restarted = spawnWorker(args(victim.id, specs.find((s) => s.id === victim.id)!.caps, Number(new URL(victim.url).port))).then((w) => {
  workers.push(w)
  console.log(`--- ${w.id} restarted on ${w.url} ---`)
})
await Promise.all(sending)
const results = await Promise.all(sessions.map((s) => s.waitFor(UTTERANCES, 60_000)))
await restarted

let ok = true
results.forEach((got, s) => {
  const inOrder = got.length === UTTERANCES && got.every((r, i) => r.index === i)
  const right = got.every((r) => r.text === infer(r.capability, concat(audioOf(s, r.index))))
  ok &&= inOrder && right
  console.log(`session ${s}: ${got.length} results, ${inOrder ? 'each once, in order' : 'OUT OF ORDER OR MISSING'}, ${right ? 'every text right' : 'WRONG TEXT'}`)
})
const stats = dispatcher.stats()
console.log(`requeued ${stats.requeues}, duplicate answers dropped ${stats.duplicates}, delivered ${stats.delivered}`)
const metrics = await (await fetch(dispatcher.metricsUrl)).text()
console.log(metrics.split('\n').filter((l) => /^dispatcher_(queue_depth|worker_jobs_total|requeues_total|duplicate|workers|job_latency_seconds_(sum|count))/.test(l)).join('\n'))
await Promise.all(sessions.map((s) => s.close()))
await dispatcher.stop()
await Promise.all(workers.map((w) => w.kill('SIGTERM')))
process.exit(ok ? 0 : 1)
