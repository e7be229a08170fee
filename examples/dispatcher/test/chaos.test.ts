/**
 * The test: 3 worker processes, 5 sessions × 50 utterances, workers killed (SIGKILL) and
 * restarted at seeded random moments, one worker frozen (SIGSTOP) past the heartbeat timeout and
 * thawed: every session gets every result once, in order, with the text the model gives for its
 * audio; jobs needing `translate` only ran on workers that offer it; a job that ran twice (the
 * frozen worker's answers arrive after the requeued copies) was delivered once.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { seededRandom } from '@echostream/kernel'
import { startDispatcher, type Dispatcher } from '../src/dispatcher.js'
import { concat, infer, utteranceAudio } from '../src/model.js'
import { openSession, type DispatchSession } from '../src/session.js'
import { freePort, spawnWorker, type WorkerProcess } from '../src/spawn.js'

const SEED = Number(process.env.CHAOS_SEED ?? 16)
const SESSIONS = 5
const UTTERANCES = 50
const WORKERS = [
  { id: 'w1', caps: 'recognise,translate' },
  { id: 'w2', caps: 'recognise' },
  { id: 'w3', caps: 'recognise,translate' },
]
const TRANSLATORS = new Set(['w1', 'w3'])

const random = seededRandom(SEED)
const between = (lo: number, hi: number) => lo + random() * (hi - lo)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Each utterance's capability and audio, from the seed: what the result must say is known in advance. */
const capabilityOf = (session: number, index: number) => (session >= 3 && index % 2 === 0 ? 'translate' : 'recognise')
const audioOf = (session: number, index: number) => utteranceAudio(SEED * 1000 + session * 100 + index, 3, 320)

const live = new Map<string, WorkerProcess>()
const restarts: Array<Promise<unknown>> = []
const cleanup: Array<() => Promise<unknown>> = []
afterAll(async () => {
  for (const fn of cleanup.reverse()) await fn().catch(() => {})
  await Promise.allSettled(restarts) // a restart still booting must not outlive the test
  for (const w of live.values()) await w.kill('SIGKILL')
}, 60_000)

function workerArgs(id: string, caps: string, port: number): string[] {
  // Short model times keep the file well under a minute on a loaded machine.
  return ['--id', id, '--caps', caps, '--port', String(port), '--slots', '2', '--delay-ms', '10,40,150', '--heartbeat-ms', '100', '--seed', String(SEED)]
}

describe('dispatcher under chaos', () => {
  it('delivers every result once, in order, while workers die, restart and freeze', async () => {
    const ports = await Promise.all(WORKERS.map(() => freePort()))
    const started = await Promise.all(WORKERS.map((w, i) => spawnWorker(workerArgs(w.id, w.caps, ports[i]!))))
    for (const w of started) live.set(w.id, w)

    const dispatcher: Dispatcher = await startDispatcher({
      workers: started.map((w) => w.url),
      heartbeatTimeoutMs: 700,
      evictAfterMs: 20_000, // the frozen worker keeps its connection: its late answers must arrive
      backoff: { initialMs: 50, maxMs: 400 },
      metrics: { port: 0 },
      logLevel: 'warn',
    })
    cleanup.push(() => dispatcher.stop())
    await waitUntil(() => dispatcher.workers().filter((w) => w.state === 'ready').length === 3, 20_000, 'three workers registered')

    const sessions: DispatchSession[] = await Promise.all(Array.from({ length: SESSIONS }, () => openSession(dispatcher.url)))
    for (const s of sessions) cleanup.push(() => s.close())

    // Senders: each session sends its 50 utterances, paced, without waiting for results.
    const sending = sessions.map(async (session, s) => {
      const pace = seededRandom(SEED + s)
      for (let i = 0; i < UTTERANCES; i++) {
        await session.send(i, capabilityOf(s, i), audioOf(s, i))
        await sleep(40 + pace() * 80)
      }
    })

    // Chaos: seeded kills and restarts (same port, same id), and one worker frozen (SIGSTOP) while
    // it has jobs running, kept frozen until those jobs were delivered from their requeued copies,
    // then thawed: its own answers then arrive late, and must be dropped as duplicates.
    const events: string[] = []
    let sendingDone = false
    const allSent = Promise.all(sending).then(() => (sendingDone = true))
    let frozen: { id: string; worker: WorkerProcess } | undefined
    const chaos = (async () => {
      let kills = 0
      const deadline = Date.now() + 45_000 // bounded: the assertions below say what did not happen
      while ((!sendingDone || kills < 3 || !frozen) && Date.now() < deadline) {
        await sleep(between(300, 900))
        if (!frozen && kills >= 1) {
          const busy = dispatcher.workers().find((w) => w.running > 0 && w.state === 'ready' && live.has(w.id!))
          if (!busy) continue
          frozen = { id: busy.id!, worker: live.get(busy.id!)! }
          frozen.worker.child.kill('SIGSTOP')
          events.push(`freeze ${busy.id} (${busy.running} running)`)
          await waitUntil(() => dispatcher.workers().find((w) => w.id === busy.id)?.state === 'silent', 10_000, `${busy.id} marked silent`)
          continue
        }
        const candidates = [...live.keys()].filter((id) => id !== frozen?.id)
        if (kills >= 4 || candidates.length < 2) continue // never all at once: restarts take seconds here
        const id = candidates[Math.floor(random() * candidates.length)]!
        const victim = live.get(id)!
        live.delete(id)
        await victim.kill('SIGKILL')
        kills++
        events.push(`kill -9 ${id}`)
        const spec = WORKERS.find((w) => w.id === id)!
        // Restart in the background: a worker takes a while to boot on a busy machine.
        restarts.push(
          spawnWorker(workerArgs(id, spec.caps, Number(new URL(victim.url).port))).then((w) => {
            live.set(w.id, w)
            events.push(`restarted ${id}`)
          }),
        )
      }
    })()

    await allSent
    await chaos
    // Every job is delivered while the frozen worker still holds its copies; then it thaws.
    await waitUntil(() => dispatcher.stats().open === 0, 40_000, 'every job delivered')
    expect(frozen, `no worker was frozen (${events.join(', ')})`).toBeDefined()
    frozen!.worker.child.kill('SIGCONT')
    events.push(`thaw ${frozen!.id}`)
    const results = await Promise.all(sessions.map((s) => s.waitFor(UTTERANCES, 40_000)))

    for (let s = 0; s < SESSIONS; s++) {
      const got = results[s]!
      expect(got.map((r) => r.index), `session ${s}: every index once, in order`).toEqual(Array.from({ length: UTTERANCES }, (_, i) => i))
      for (const r of got) {
        expect(r.error, `session ${s} utterance ${r.index}: ${r.error?.message}`).toBeUndefined()
        expect(r.capability).toBe(capabilityOf(s, r.index))
        expect(r.text).toBe(infer(r.capability, concat(audioOf(s, r.index))))
        if (r.capability === 'translate') expect(TRANSLATORS.has(r.worker!), `translate ran on ${r.worker}`).toBe(true)
      }
    }
    // Nothing more arrives later (a duplicate would be a 51st result): a barrier through each session.
    await sleep(300)
    for (const s of sessions) expect(s.results).toHaveLength(UTTERANCES)

    const stats = dispatcher.stats()
    expect(events.filter((e) => e.startsWith('kill')).length).toBeGreaterThanOrEqual(3)
    expect(stats.requeues).toBeGreaterThan(0)
    expect(stats.delivered).toBe(SESSIONS * UTTERANCES)
    // The frozen worker's jobs ran twice; its late answers were dropped as duplicates.
    await waitUntil(() => dispatcher.stats().duplicates > 0, 15_000, 'a duplicate answer from the thawed worker')
    await waitUntil(() => dispatcher.workers().find((w) => w.id === frozen!.id)?.state === 'ready', 15_000, 'the thawed worker ready again')
    for (const s of sessions) expect(s.results).toHaveLength(UTTERANCES) // and nothing reached a session twice

    const metrics = await (await fetch(dispatcher.metricsUrl)).text()
    expect(metrics).toMatch(/^dispatcher_queue_depth 0$/m)
    expect(metrics).toMatch(new RegExp(`^dispatcher_job_latency_seconds_count\\{capability="recognise"\\} \\d+`, 'm'))
    expect(metrics).toMatch(/^dispatcher_duplicate_results_total [1-9]/m)
    expect(metrics).toMatch(/^dispatcher_requeues_total\{reason="[^"]+"\} [1-9]/m)
    expect(metrics).toMatch(new RegExp(`^dispatcher_results_total\\{outcome="ok"\\} ${SESSIONS * UTTERANCES}$`, 'm'))
    for (const w of WORKERS) expect(metrics).toMatch(new RegExp(`^dispatcher_worker_jobs_total\\{worker="${w.id}",outcome="ok"\\} [1-9]`, 'm'))
    console.log(`chaos seed ${SEED}: ${events.join(', ')}; requeues ${stats.requeues}, duplicates ${dispatcher.stats().duplicates}`)
  }, 90_000)
})

async function waitUntil(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(10)
  }
}
