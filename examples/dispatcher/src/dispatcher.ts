/**
 * The dispatcher: an echostream server for client sessions, and a client of every worker.
 * - A session opens one `utterance` stream per utterance (`meta: { index, capability }`, binary
 *   audio chunks); when it ends, the utterance is a job.
 * - The scheduler sends each job to the least-loaded worker offering the capability; the pool
 *   keeps the workers connected, registered and heartbeating, and requeues on loss.
 * - Results go back as `dispatch.result` events, in utterance order per session, each once.
 * - Metrics (queue depth, jobs per worker, latency…) on the observability plugin's `/metrics`.
 */
import { randomUUID } from 'node:crypto'
import { createServer, EchoError, type Session } from '@echostream/kernel'
import presetDefault from '@echostream/preset-default'
import streams from '@echostream/plugin-streams'
import observability from '@echostream/plugin-observability'
import discoveryMdns from '@echostream/plugin-discovery-mdns'
import { createMetrics } from './metrics.js'
import { concat } from './model.js'
import { resolveOptions, type DispatcherInput, type DispatcherOptions } from './options.js'
import { WorkerPool, type WorkerView } from './pool.js'
import { dispatchErrors, RECEIPT_EVENT, RESULT_EVENT, type Receipt, UTTERANCE_STREAM, utteranceMetaSchema, type SessionResult, type UtteranceMeta } from './protocol.js'
import { Reorderer } from './reorder.js'
import { Scheduler } from './scheduler.js'

interface SessionState {
  session: Session
  reorder: Reorderer<SessionResult>
  /** Indices received and not yet delivered (duplicates are refused). */
  pending: Set<number>
}

export interface Dispatcher {
  /** Where sessions connect. */
  readonly url: string
  /** `http://…/metrics`. */
  readonly metricsUrl: string
  readonly options: Readonly<DispatcherOptions>
  workers(): WorkerView[]
  stats(): { queueDepth: number; open: number; sessions: number; delivered: number; duplicates: number; requeues: number }
  stop(): Promise<void>
}

export async function startDispatcher(input: DispatcherInput = {}): Promise<Dispatcher> {
  const options = resolveOptions(input)
  const server = await createServer({
    preset: presetDefault,
    plugins: [streams, observability, ...(options.discovery.enabled ? [discoveryMdns] : [])],
    options: {
      'transport-ws': { port: options.port, host: options.host },
      observability: { port: options.metrics.port, host: options.metrics.host, level: options.logLevel },
      // The dispatcher browses; it advertises itself too (sessions may find it as 'dispatcher').
      ...(options.discovery.enabled ? { 'discovery-mdns': { name: 'dispatcher', interface: options.discovery.interface, mdnsPort: options.discovery.mdnsPort } } : {}),
    },
  })
  const log = server.observability.logger.child({ component: 'dispatcher' })
  const sessions = new Map<string, SessionState>()
  const counts = { delivered: 0, duplicates: 0, requeues: 0 }

  const scheduler: Scheduler = new Scheduler({
    maxAttempts: options.maxAttempts,
    maxQueue: options.maxQueue,
    run: (job, url, attempt) => pool.run(job, url, attempt),
    deliver(job, outcome) {
      const state = sessions.get(job.session)
      const latencyMs = Date.now() - job.submittedAt
      metrics.latency.observe({ capability: job.capability }, latencyMs / 1000)
      if (outcome.ok) metrics.jobs.inc({ worker: pool.idOf(outcome.worker), outcome: 'ok' })
      if (!state) return
      const result: SessionResult = outcome.ok
        ? { index: job.index, capability: job.capability, text: outcome.text, worker: pool.idOf(outcome.worker), attempts: job.attempts, latencyMs }
        : { index: job.index, capability: job.capability, attempts: job.attempts, latencyMs, error: { code: outcome.error.code, message: outcome.error.message } }
      for (const ready of state.reorder.push(job.index, result)) {
        state.pending.delete(ready.index)
        counts.delivered++
        metrics.results.inc({ outcome: ready.error ? 'failed' : 'ok' })
        try {
          state.session.emit(RESULT_EVENT, ready)
        } catch {
          // the session closed meanwhile: nothing to deliver to
        }
      }
    },
    note(event, job, url, reason) {
      if (event === 'requeue') {
        counts.requeues++
        metrics.requeues.inc({ reason: reason ?? 'unknown' })
      } else if (event === 'duplicate') {
        counts.duplicates++
        metrics.duplicates.inc()
        metrics.jobs.inc({ worker: pool.idOf(url), outcome: 'duplicate' })
      } else if (event === 'error') metrics.jobs.inc({ worker: pool.idOf(url), outcome: 'error' })
    },
  })
  const pool: WorkerPool = new WorkerPool(scheduler, {
    heartbeatTimeoutMs: options.heartbeatTimeoutMs,
    evictAfterMs: options.evictAfterMs,
    jobTimeoutMs: options.jobTimeoutMs,
    connectTimeoutMs: options.connectTimeoutMs,
    backoff: options.backoff,
    capabilities: [...options.capabilities],
    forgetAfter: 5,
    log: (message) => log.info(message),
  })
  const metrics = createMetrics(server.observability.registry, { queueDepth: () => scheduler.queueDepth, workers: () => pool.view() })
  // /readyz: not ready while no worker can take a job (sessions would only queue).
  server.observability.addReadinessCheck('workers', () => pool.view().some((w) => w.state === 'ready') || 'no worker registered')

  server.streams.handle(
    UTTERANCE_STREAM,
    async (stream, ctx) => {
      const meta = ctx.meta as UtteranceMeta
      const receipt = (error?: EchoError) => {
        const payload: Receipt = { stream: ctx.id, index: meta.index, ...(error ? { error: { code: error.code, message: error.message } } : {}) }
        try {
          ctx.session.emit(RECEIPT_EVENT, payload)
        } catch {
          // the session is gone: nobody to tell
        }
      }
      try {
        await receiveUtterance(stream, ctx, meta)
        receipt()
      } catch (error) {
        const coded = EchoError.from(error)
        receipt(coded)
        throw coded // also cancels the stream, so a sender still writing stops at once
      }
    },
    { meta: utteranceMetaSchema },
  )

  async function receiveUtterance(stream: AsyncIterable<{ data: unknown }>, ctx: { session: Session }, meta: UtteranceMeta): Promise<void> {
    const state = sessions.get(ctx.session.id)
    if (!state) throw new EchoError('E_STATE', 'the session is not registered yet; retry once connected.')
    if (meta.index < state.reorder.next || state.pending.has(meta.index)) throw dispatchErrors.duplicateUtterance(meta.index)
    if (meta.index >= state.reorder.next + options.maxAhead) throw dispatchErrors.indexOutOfWindow(meta.index, state.reorder.next, options.maxAhead)
    if (options.capabilities.length > 0 && !options.capabilities.includes(meta.capability)) {
      throw new EchoError('E_CAPABILITY', `this dispatcher serves ${options.capabilities.join(', ')}, not '${meta.capability}'.`)
    }
    state.pending.add(meta.index)
    const chunks: Uint8Array[] = []
    let size = 0
    try {
      for await (const frame of stream) {
        if (!(frame.data instanceof Uint8Array)) throw dispatchErrors.notBinary()
        size += frame.data.byteLength
        if (size > options.maxUtteranceBytes) throw dispatchErrors.tooLarge(options.maxUtteranceBytes)
        chunks.push(frame.data)
      }
      scheduler.submit({ id: randomUUID(), session: ctx.session.id, index: meta.index, capability: meta.capability, audio: concat(chunks), submittedAt: Date.now() })
    } catch (error) {
      state.pending.delete(meta.index) // the utterance did not arrive whole: it may be sent again
      throw error
    }
  }

  server.on('connect', (session) => {
    sessions.set(session.id, { session, reorder: new Reorderer(), pending: new Set() })
  })
  server.on('disconnect', (session) => {
    sessions.delete(session.id)
    scheduler.dropSession(session.id)
  })

  await server.start()
  for (const url of options.workers) pool.add(url, 'manual')

  let watching: AsyncIterableIterator<{ type: 'up' | 'down'; service: import('@echostream/plugin-discovery-mdns').DiscoveredService }> | undefined
  if (options.discovery.enabled) {
    watching = server.discovery.discover$(options.discovery.service)
    void (async () => {
      try {
        for await (const { type, service } of watching!) {
          if (type === 'up') pool.discovered(service)
          else pool.gone(service)
        }
      } catch (error) {
        log.warn({ error: (error as Error).message }, 'worker discovery ended')
      }
    })()
  }

  return {
    url: server.url!,
    metricsUrl: `${server.observability.adminUrl}/metrics`,
    options,
    workers: () => pool.view(),
    stats: () => ({ queueDepth: scheduler.queueDepth, open: scheduler.open, sessions: sessions.size, ...counts }),
    async stop() {
      await watching?.return?.()
      await pool.close()
      await server.stop()
    },
  }
}
