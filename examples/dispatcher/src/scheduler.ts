/**
 * The dispatcher's core, without any network: a queue per capability, least-connections choice
 * among the workers that offer the capability, requeue when a worker is lost, and "first result
 * wins" so a job that ran twice is delivered once. The dispatcher (dispatcher.ts) feeds it events
 * and gives it two callbacks: `run` (start an attempt on a worker) and `deliver` (a job's outcome,
 * exactly once).
 *
 * Least connections, weighted by slots: a job goes to the capable worker with the lowest
 * assigned/slots (ties: the one given fewer jobs so far, then the id), i.e. nginx's
 * `least_conn` with weights. "Connections" are the jobs this dispatcher has running there.
 */
import type { EchoError } from '@echostream/kernel'
import { dispatchErrors } from './protocol.js'

export interface Job {
  readonly id: string
  /** Which session (and so which reorderer) the result goes to. */
  readonly session: string
  readonly index: number
  readonly capability: string
  readonly audio: Uint8Array
  readonly submittedAt: number
  /** Attempts started so far. */
  attempts: number
  /** Attempts a worker refused without running (E_BUSY): not counted against maxAttempts. */
  refusals?: number
  state: 'queued' | 'running' | 'done'
  /** Worker of the current attempt. */
  worker?: string
  /** Cancels the current attempt (set by `run`). */
  cancel?: () => void
}

export type Outcome = { ok: true; text: string; worker: string; attempt: number } | { ok: false; error: EchoError }

export interface SchedulerOptions {
  maxAttempts: number
  maxQueue: number
  /** Starts attempt `attempt` of `job` on `worker`; returns how to cancel it. */
  run(job: Job, worker: string, attempt: number): () => void
  /** A job's final outcome; called exactly once per job. */
  deliver(job: Job, outcome: Outcome): void
  /** Something worth a metric happened. */
  note?(event: 'requeue' | 'duplicate' | 'assign' | 'error', job: Pick<Job, 'id'> & Partial<Job>, worker: string, reason?: string): void
}

interface WorkerState {
  id: string
  capabilities: Set<string>
  slots: number
  available: boolean
  /** Job ids whose current attempt runs here. */
  running: Set<string>
  /**
   * Job ids requeued from here (the worker went silent) whose calls are still open: they still
   * take the worker's slots, so a worker that comes back is not sent more than it can run.
   */
  stale: Set<string>
  given: number
}

/** How many finished job ids are remembered to recognise a late second result. */
const REMEMBER_DONE = 100_000

/** Refusals (E_BUSY) after which a job fails anyway: a worker that is always full is broken. */
const MAX_REFUSALS = 50

/** Error codes that no other worker would answer differently: the job fails at once. */
const FATAL = new Set(['E_INVALID_PARAMS', 'E_PAYLOAD_TOO_LARGE'])

export class Scheduler {
  readonly #options: SchedulerOptions
  readonly #jobs = new Map<string, Job>()
  readonly #queues = new Map<string, Job[]>()
  readonly #workers = new Map<string, WorkerState>()
  readonly #done = new Set<string>()
  #queued = 0

  constructor(options: SchedulerOptions) {
    this.#options = options
  }

  /** Jobs waiting for a worker. */
  get queueDepth(): number {
    return this.#queued
  }

  /** Jobs known and not finished (queued or running). */
  get open(): number {
    return this.#jobs.size
  }

  submit(job: Omit<Job, 'attempts' | 'state'>): void {
    if (this.#jobs.size >= this.#options.maxQueue) throw dispatchErrors.queueFull(this.#options.maxQueue)
    const full: Job = { ...job, attempts: 0, state: 'queued' }
    this.#jobs.set(full.id, full)
    this.#enqueue(full, false)
    this.pump()
  }

  /** Adds a worker or updates what it offers; it takes jobs while available. */
  upsertWorker(id: string, capabilities: readonly string[], slots: number): void {
    const known = this.#workers.get(id)
    if (known) {
      known.capabilities = new Set(capabilities)
      known.slots = slots
    } else this.#workers.set(id, { id, capabilities: new Set(capabilities), slots, available: true, running: new Set(), stale: new Set(), given: 0 })
    this.pump()
  }

  /**
   * A worker stops (false) or resumes (true) taking jobs. Stopping requeues the jobs running there;
   * their attempts are not cancelled, so a late result from a worker that was only slow still wins
   * if it comes first.
   */
  setAvailable(id: string, available: boolean, reason = 'unavailable'): void {
    const worker = this.#workers.get(id)
    if (!worker || worker.available === available) return
    worker.available = available
    if (!available) this.#requeueFrom(worker, reason)
    this.pump()
  }

  removeWorker(id: string, reason = 'removed'): void {
    const worker = this.#workers.get(id)
    if (!worker) return
    this.#requeueFrom(worker, reason)
    this.#workers.delete(id)
    this.pump()
  }

  workers(): Array<{ id: string; capabilities: string[]; slots: number; available: boolean; running: number; stale: number; given: number }> {
    return [...this.#workers.values()].map((w) => ({ id: w.id, capabilities: [...w.capabilities], slots: w.slots, available: w.available, running: w.running.size, stale: w.stale.size, given: w.given }))
  }

  /** A worker answered attempt `attempt`. Returns whether it was delivered or was a duplicate. */
  complete(jobId: string, attempt: number, worker: string, text: string): 'delivered' | 'duplicate' {
    const freed = this.#workers.get(worker)?.stale.delete(jobId)
    const job = this.#jobs.get(jobId)
    if (!job) {
      if (this.#done.has(jobId)) this.#options.note?.('duplicate', { id: jobId }, worker)
      if (freed) this.pump()
      return 'duplicate'
    }
    this.#finish(job, { ok: true, text, worker, attempt })
    this.pump()
    return 'delivered'
  }

  /** Attempt `attempt` failed. Only the current attempt counts: a stale one was already requeued. */
  failed(jobId: string, attempt: number, worker: string, error: EchoError): void {
    this.#options.note?.('error', { id: jobId }, worker, error.code)
    const state = this.#workers.get(worker)
    if (state?.stale.delete(jobId)) this.pump() // a slot there is free again
    const job = this.#jobs.get(jobId)
    if (!job || job.state !== 'running' || job.attempts !== attempt || job.worker !== worker) return
    this.#release(job)
    // A refusal (the worker was full) did not run the job: it does not use up an attempt.
    if (error.code === 'E_BUSY' && (job.refusals ?? 0) < MAX_REFUSALS) job.refusals = (job.refusals ?? 0) + 1
    if (FATAL.has(error.code) || job.attempts - (job.refusals ?? 0) >= this.#options.maxAttempts || (job.refusals ?? 0) >= MAX_REFUSALS) {
      this.#finish(job, { ok: false, error: FATAL.has(error.code) ? error : dispatchErrors.gaveUp(job.attempts, `${error.code}: ${error.message}`) })
    } else {
      this.#options.note?.('requeue', job, worker, error.code)
      this.#enqueue(job, true)
    }
    this.pump()
  }

  /** Drops a session's jobs (it closed): queued ones go, running ones are cancelled. Nothing is delivered. */
  dropSession(session: string): void {
    for (const job of [...this.#jobs.values()]) {
      if (job.session !== session) continue
      if (job.state === 'queued') this.#dequeue(job)
      if (job.state === 'running') {
        job.cancel?.()
        this.#release(job)
      }
      job.state = 'done'
      this.#jobs.delete(job.id)
    }
    this.pump()
  }

  /** Assigns queued jobs to free capable workers, oldest first per capability. */
  pump(): void {
    for (const [capability, queue] of this.#queues) {
      while (queue.length > 0) {
        const worker = this.#pick(capability)
        if (!worker) break
        const job = queue.shift()!
        this.#queued--
        this.#start(job, worker)
      }
      if (queue.length === 0) this.#queues.delete(capability)
    }
  }

  #pick(capability: string): WorkerState | undefined {
    let best: WorkerState | undefined
    for (const w of this.#workers.values()) {
      if (!w.available || !w.capabilities.has(capability) || w.running.size + w.stale.size >= w.slots) continue
      if (!best) {
        best = w
        continue
      }
      const load = (w.running.size + w.stale.size) / w.slots - (best.running.size + best.stale.size) / best.slots
      if (load < 0 || (load === 0 && (w.given < best.given || (w.given === best.given && w.id < best.id)))) best = w
    }
    return best
  }

  #start(job: Job, worker: WorkerState): void {
    job.state = 'running'
    job.attempts++
    job.worker = worker.id
    worker.running.add(job.id)
    worker.given++
    this.#options.note?.('assign', job, worker.id)
    job.cancel = this.#options.run(job, worker.id, job.attempts)
  }

  #release(job: Job): void {
    if (job.worker) this.#workers.get(job.worker)?.running.delete(job.id)
    job.cancel = undefined
  }

  #requeueFrom(worker: WorkerState, reason: string): void {
    // Oldest first, so the front of the queue keeps submission order.
    const jobs = [...worker.running].map((id) => this.#jobs.get(id)).filter((j): j is Job => j !== undefined)
    jobs.sort((a, b) => b.submittedAt - a.submittedAt)
    for (const job of jobs) {
      worker.running.delete(job.id)
      worker.stale.add(job.id)
      job.cancel = undefined // the attempt stays alive: its result is still welcome
      this.#options.note?.('requeue', job, worker.id, reason)
      if (job.attempts >= this.#options.maxAttempts) this.#finish(job, { ok: false, error: dispatchErrors.gaveUp(job.attempts, `worker ${worker.id} ${reason}`) })
      else this.#enqueue(job, true)
    }
  }

  #enqueue(job: Job, front: boolean): void {
    job.state = 'queued'
    job.worker = undefined
    let queue = this.#queues.get(job.capability)
    if (!queue) this.#queues.set(job.capability, (queue = []))
    if (front) queue.unshift(job)
    else queue.push(job)
    this.#queued++
  }

  #dequeue(job: Job): void {
    const queue = this.#queues.get(job.capability)
    const at = queue?.indexOf(job) ?? -1
    if (at >= 0) {
      queue!.splice(at, 1)
      this.#queued--
    }
  }

  #finish(job: Job, outcome: Outcome): void {
    if (job.state === 'queued') this.#dequeue(job)
    if (job.state === 'running') {
      // Another attempt is still running (this result came from an earlier, requeued one): stop it.
      if (!(outcome.ok && outcome.worker === job.worker && outcome.attempt === job.attempts)) job.cancel?.()
      this.#release(job)
    }
    job.state = 'done'
    this.#jobs.delete(job.id)
    this.#done.add(job.id)
    if (this.#done.size > REMEMBER_DONE) this.#done.delete(this.#done.values().next().value!)
    this.#options.deliver(job, outcome)
  }
}
