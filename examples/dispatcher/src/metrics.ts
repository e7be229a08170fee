/**
 * The dispatcher's own metrics, on the observability plugin's registry (its `/metrics` serves
 * them beside the framework's). Gauges are read when scraped (`collect`), so the hot path only
 * counts.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

export interface DispatchMetrics {
  jobs: Counter<'worker' | 'outcome'>
  requeues: Counter<'reason'>
  duplicates: Counter
  latency: Histogram<'capability'>
  results: Counter<'outcome'>
}

export function createMetrics(registry: Registry, read: { queueDepth(): number; workers(): Array<{ id: string | undefined; url: string; state: string; running: number }> }): DispatchMetrics {
  const registers = [registry]
  new Gauge({
    name: 'dispatcher_queue_depth',
    help: 'Jobs waiting for a worker',
    registers,
    collect() {
      this.set(read.queueDepth())
    },
  })
  new Gauge({
    name: 'dispatcher_worker_running',
    help: 'Jobs running on each worker now (least-connections load)',
    labelNames: ['worker'],
    registers,
    collect() {
      this.reset()
      for (const w of read.workers()) this.set({ worker: w.id ?? w.url }, w.running)
    },
  })
  new Gauge({
    name: 'dispatcher_workers',
    help: 'Workers by state (ready, silent, down, connecting)',
    labelNames: ['state'],
    registers,
    collect() {
      this.reset()
      const counts: Record<string, number> = { ready: 0, silent: 0, down: 0, connecting: 0 }
      for (const w of read.workers()) counts[w.state] = (counts[w.state] ?? 0) + 1
      for (const [state, n] of Object.entries(counts)) this.set({ state }, n)
    },
  })
  return {
    jobs: new Counter({ name: 'dispatcher_worker_jobs_total', help: 'Job attempts answered, by worker and outcome (ok: delivered; duplicate: a second answer to a job already delivered; error)', labelNames: ['worker', 'outcome'], registers }),
    requeues: new Counter({ name: 'dispatcher_requeues_total', help: 'Jobs put back in the queue, by reason', labelNames: ['reason'], registers }),
    duplicates: new Counter({ name: 'dispatcher_duplicate_results_total', help: 'Results dropped because the job was already delivered (it ran twice)', registers }),
    latency: new Histogram({
      name: 'dispatcher_job_latency_seconds',
      help: 'Utterance received → result ready, by capability',
      labelNames: ['capability'],
      buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    results: new Counter({ name: 'dispatcher_results_total', help: 'Results sent to sessions, by outcome (ok, failed)', labelNames: ['outcome'], registers }),
  }
}
