/** The scheduler and the reorderer without a network: least connections, capabilities, requeue, exactly once, order. */
import { describe, expect, it } from 'vitest'
import { EchoError, seededRandom } from '@echostream/kernel'
import { Reorderer } from '../src/reorder.js'
import { Scheduler, type Job, type Outcome } from '../src/scheduler.js'
import { delays, infer } from '../src/model.js'

function harness(maxAttempts = 3) {
  const runs: Array<{ job: Job; worker: string; attempt: number; cancelled: boolean }> = []
  const delivered: Array<{ job: Job; outcome: Outcome }> = []
  const notes: string[] = []
  const scheduler = new Scheduler({
    maxAttempts,
    maxQueue: 100,
    run(job, worker, attempt) {
      const run = { job, worker, attempt, cancelled: false }
      runs.push(run)
      return () => (run.cancelled = true)
    },
    deliver: (job, outcome) => delivered.push({ job, outcome }),
    note: (event, job, worker, reason) => notes.push(`${event} ${job.id} ${worker}${reason ? ` ${reason}` : ''}`),
  })
  let n = 0
  const submit = (capability = 'recognise', session = 's') => {
    const id = `j${n}`
    scheduler.submit({ id, session, index: n++, capability, audio: new Uint8Array([n]), submittedAt: n })
    return id
  }
  return { scheduler, runs, delivered, notes, submit }
}

describe('Scheduler', () => {
  it('sends each job to the capable worker with the fewest running jobs per slot', () => {
    const { scheduler, runs, submit } = harness()
    scheduler.upsertWorker('a', ['recognise'], 2)
    scheduler.upsertWorker('b', ['recognise', 'translate'], 4)
    for (let i = 0; i < 6; i++) submit()
    // a: 0/2 b: 0/4 → a (tie on load, fewer given, then id); then b (0/4 < 1/2); b; a (2/4 = 1/2, fewer given)…
    expect(runs.map((r) => r.worker)).toEqual(['a', 'b', 'b', 'a', 'b', 'b'])
    expect(scheduler.queueDepth).toBe(0)
    submit() // every slot taken: it waits
    expect(scheduler.queueDepth).toBe(1)
    scheduler.complete(runs[0]!.job.id, 1, 'a', 'x') // a frees a slot: the queued job goes there
    expect(runs.at(-1)).toMatchObject({ worker: 'a' })
    expect(scheduler.queueDepth).toBe(0)
  })

  it('gives a job only to workers with its capability, and a waiting capability does not block others', () => {
    const { scheduler, runs, submit } = harness()
    scheduler.upsertWorker('a', ['recognise'], 1)
    submit('translate')
    submit('recognise')
    expect(runs.map((r) => `${r.job.capability}@${r.worker}`)).toEqual(['recognise@a'])
    expect(scheduler.queueDepth).toBe(1)
    scheduler.upsertWorker('b', ['translate'], 1)
    expect(runs.map((r) => `${r.job.capability}@${r.worker}`)).toEqual(['recognise@a', 'translate@b'])
  })

  it('requeues the jobs of a lost worker at the front, and a late answer from it still wins once', () => {
    const { scheduler, runs, delivered, notes, submit } = harness()
    scheduler.upsertWorker('a', ['recognise'], 2)
    scheduler.upsertWorker('b', ['recognise'], 1)
    const first = submit()
    submit()
    submit()
    submit() // queued behind the three running
    expect(runs.map((r) => r.worker)).toEqual(['a', 'b', 'a'])
    scheduler.setAvailable('a', false, 'stopped heartbeating')
    expect(notes.filter((n) => n.startsWith('requeue'))).toHaveLength(2)
    expect(runs.some((r) => r.cancelled)).toBe(false) // left running: its answer is still welcome
    scheduler.upsertWorker('c', ['recognise'], 3)
    // the requeued jobs (j0, j2) go before j3, oldest first
    expect(runs.slice(3).map((r) => `${r.job.id}@${r.worker}#${r.attempt}`)).toEqual(['j0@c#2', 'j2@c#2', 'j3@c#1'])
    // a answers j0 late, before c: delivered, and c's attempt is cancelled
    expect(scheduler.complete(first, 1, 'a', 'from a')).toBe('delivered')
    expect(runs[3]!.cancelled).toBe(true)
    // c answers too: a duplicate, not delivered again
    expect(scheduler.complete(first, 2, 'c', 'from c')).toBe('duplicate')
    expect(delivered.filter((d) => d.job.id === first)).toEqual([expect.objectContaining({ outcome: expect.objectContaining({ text: 'from a', worker: 'a' }) })])
    expect(notes).toContain(`duplicate ${first} c`)
  })

  it('counts the open calls of a worker that went silent against its slots once it is back', () => {
    const { scheduler, runs, submit } = harness()
    scheduler.upsertWorker('a', ['recognise'], 2)
    const [x, y] = [submit(), submit()]
    scheduler.setAvailable('a', false, 'stopped heartbeating') // x, y requeued; their calls stay open on a
    scheduler.setAvailable('a', true)
    expect(runs).toHaveLength(2) // a is still full with its two old calls: nothing new goes there
    expect(scheduler.workers()[0]).toMatchObject({ running: 0, stale: 2 })
    expect(scheduler.complete(x, 1, 'a', 'late x')).toBe('delivered') // the old call answers: x done, a slot frees
    expect(runs.map((r) => `${r.job.id}#${r.attempt}`)).toEqual([`${x}#1`, `${y}#1`, `${y}#2`])
    scheduler.failed(y, 1, 'a', new EchoError('E_CLOSED', 'old call lost')) // stale attempt: frees its slot, changes nothing else
    expect(scheduler.workers()[0]).toMatchObject({ running: 1, stale: 0 })
  })

  it('does not count a refusal (E_BUSY) as an attempt', () => {
    const { scheduler, runs, delivered, submit } = harness(1)
    scheduler.upsertWorker('a', ['recognise'], 1)
    const id = submit()
    for (let attempt = 1; attempt <= 3; attempt++) scheduler.failed(id, attempt, 'a', new EchoError('E_BUSY', 'full'))
    expect(runs).toHaveLength(4)
    expect(delivered).toEqual([])
    scheduler.complete(id, 4, 'a', 'ok')
    expect(delivered).toEqual([expect.objectContaining({ outcome: expect.objectContaining({ ok: true }) })])
  })

  it('retries a failed attempt elsewhere up to maxAttempts, then delivers the failure once', () => {
    const { scheduler, runs, delivered, submit } = harness(2)
    scheduler.upsertWorker('a', ['recognise'], 1)
    const id = submit()
    scheduler.failed(id, 1, 'a', new EchoError('E_CLOSED', 'gone'))
    expect(runs.map((r) => r.attempt)).toEqual([1, 2])
    scheduler.failed(id, 1, 'a', new EchoError('E_CLOSED', 'stale attempt')) // ignored: not the current one
    expect(delivered).toEqual([])
    scheduler.failed(id, 2, 'a', new EchoError('E_TIMEOUT', 'slow'))
    expect(delivered).toEqual([expect.objectContaining({ outcome: { ok: false, error: expect.objectContaining({ code: 'E_JOB_FAILED' }) } })])
    expect(scheduler.open).toBe(0)
  })

  it('drops a closed session’s jobs, cancels the running ones, and refuses more than maxQueue', () => {
    const { scheduler, runs, delivered, submit } = harness()
    scheduler.upsertWorker('a', ['recognise'], 1)
    submit('recognise', 'gone')
    submit('recognise', 'gone')
    scheduler.dropSession('gone')
    expect(runs[0]!.cancelled).toBe(true)
    expect(scheduler.queueDepth).toBe(0)
    expect(delivered).toEqual([])
    for (let i = 0; i < 100; i++) submit('translate')
    expect(() => submit('translate')).toThrow(expect.objectContaining({ code: 'E_BUSY', retryable: true }))
  })
})

describe('Reorderer', () => {
  it('delivers in index order, each once, whatever order results finish in', () => {
    const random = seededRandom(7)
    const order = Array.from({ length: 200 }, (_, i) => i).sort(() => random() - 0.5)
    const reorder = new Reorderer<number>()
    const out: number[] = []
    for (const i of order) {
      out.push(...reorder.push(i, i))
      out.push(...reorder.push(i, i)) // a second result for the same index: nothing
    }
    expect(out).toEqual(Array.from({ length: 200 }, (_, i) => i))
    expect(reorder.waiting).toBe(0)
    expect(reorder.push(3, 3)).toEqual([])
  })
})

describe('fake model', () => {
  it('is deterministic per capability and audio, and its delays are reproducible from the seed', () => {
    const audio = new Uint8Array([1, 2, 3])
    expect(infer('recognise', audio)).toBe(infer('recognise', Uint8Array.from(audio)))
    expect(infer('recognise', audio)).not.toBe(infer('recognise', new Uint8Array([1, 2, 4])))
    expect(infer('translate', audio)).not.toBe(infer('recognise', audio))
    const a = delays(42, { minMs: 10, meanMs: 40, maxMs: 100 })
    const b = delays(42, { minMs: 10, meanMs: 40, maxMs: 100 })
    const xs = Array.from({ length: 1000 }, () => a())
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b()))
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(10)
    expect(Math.max(...xs)).toBeLessThanOrEqual(100)
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length
    expect(mean).toBeGreaterThan(35)
    expect(mean).toBeLessThan(55)
  })
})
