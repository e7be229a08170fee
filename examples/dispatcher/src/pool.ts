/**
 * The dispatcher's side of its workers: one echostream client per worker URL (a manual list, and
 * whatever mDNS discovery reports), the registration call (`worker.hello`), heartbeats, and
 * reconnecting with backoff. It tells the scheduler when a worker can take jobs and when it cannot:
 * - connection lost (the worker died: kill -9, crash) → unavailable at once, reconnect with backoff;
 * - no heartbeat for `heartbeatTimeoutMs` (hung, stopped, partitioned) → unavailable, its jobs are
 *   requeued but their calls left running (a late answer still counts once); heartbeats again →
 *   available; silent for `evictAfterMs` → the connection is dropped and re-made.
 */
import { createClient, EchoError } from '@echostream/kernel'
import presetDefault from '@echostream/preset-default'
import type { DiscoveredService } from '@echostream/plugin-discovery-mdns'
import { HEARTBEAT_EVENT, HELLO_METHOD, JOB_METHOD, TXT_CAPS, TXT_ID, TXT_SLOTS, type Heartbeat, type JobOutput, type JobParams, type WorkerInfo } from './protocol.js'
import type { Job, Scheduler } from './scheduler.js'

type WorkerClient = Awaited<ReturnType<typeof connectClient>>

export type LinkState = 'connecting' | 'ready' | 'silent' | 'down' | 'closed'

export interface WorkerView {
  url: string
  /** Where the URL came from. */
  source: 'manual' | 'mdns'
  state: LinkState
  /** From `worker.hello` once registered, else from the TXT record. */
  id: string | undefined
  capabilities: string[]
  /** What the worker's TXT record advertised (mDNS only). */
  advertised?: { id?: string; capabilities: string[]; slots?: number }
  slots: number | undefined
  running: number
  given: number
  reconnects: number
}

export interface PoolOptions {
  heartbeatTimeoutMs: number
  evictAfterMs: number
  jobTimeoutMs: number
  connectTimeoutMs: number
  backoff: { initialMs: number; maxMs: number }
  /** Discovered workers that advertise none of these are not used (empty: any). */
  capabilities: string[]
  /** Failed reconnects after which a discovered (not manual) worker is forgotten. */
  forgetAfter: number
  log(message: string): void
}

interface Link {
  url: string
  source: 'manual' | 'mdns'
  state: LinkState
  client?: WorkerClient
  info?: WorkerInfo
  advertised?: { id?: string; capabilities: string[]; slots?: number }
  lastBeat: number
  failures: number
  reconnects: number
  timer?: ReturnType<typeof setTimeout>
}

async function connectClient(url: string, connectTimeoutMs: number) {
  return createClient({ preset: presetDefault, url, options: { 'transport-ws': { connectTimeoutMs } } })
}

/** What a capability name may be (as the utterance meta schema says). */
const CAPABILITY = /^[a-z][a-z0-9-]{0,31}$/

function validInfo(value: unknown): WorkerInfo | undefined {
  const v = value as Partial<WorkerInfo> | undefined
  if (!v || typeof v.id !== 'string' || v.id.length === 0 || v.id.length > 64) return undefined
  if (!Array.isArray(v.capabilities) || v.capabilities.length > 32 || !v.capabilities.every((c) => typeof c === 'string' && CAPABILITY.test(c))) return undefined
  if (!Number.isInteger(v.slots) || v.slots! < 1 || v.slots! > 1024) return undefined
  return { id: v.id, capabilities: [...v.capabilities], slots: v.slots! }
}

function validBeat(value: unknown): value is Heartbeat {
  const v = value as Partial<Heartbeat> | undefined
  return typeof v === 'object' && v !== null && Array.isArray(v.capabilities) && v.capabilities.length <= 32 && v.capabilities.every((c) => typeof c === 'string' && CAPABILITY.test(c))
}

/** Capabilities, slots and id as a worker's TXT record states them (untrusted strings). */
export function advertisedBy(service: DiscoveredService): { id?: string; capabilities: string[]; slots?: number } {
  const p = service.txt.properties
  const capabilities = (p[TXT_CAPS] ?? '').split(',').map((c) => c.trim()).filter((c) => CAPABILITY.test(c)).slice(0, 32)
  const slots = /^\d{1,4}$/.test(p[TXT_SLOTS] ?? '') ? Number(p[TXT_SLOTS]) : undefined
  return { id: p[TXT_ID]?.slice(0, 64), capabilities, slots }
}

export class WorkerPool {
  readonly #links = new Map<string, Link>()
  readonly #scheduler: Scheduler
  readonly #options: PoolOptions
  readonly #monitor: ReturnType<typeof setInterval>
  #closed = false

  constructor(scheduler: Scheduler, options: PoolOptions) {
    this.#scheduler = scheduler
    this.#options = options
    this.#monitor = setInterval(() => this.#checkHeartbeats(), Math.max(20, Math.floor(options.heartbeatTimeoutMs / 4)))
    this.#monitor.unref()
  }

  /** A worker URL to use (manual list): kept and reconnected for as long as the pool runs. */
  add(url: string, source: 'manual' | 'mdns' = 'manual'): void {
    if (this.#closed || this.#links.has(url)) return
    const link: Link = { url, source, state: 'connecting', lastBeat: 0, failures: 0, reconnects: 0 }
    this.#links.set(url, link)
    void this.#connect(link)
  }

  /** A discovery `up`: a new worker, or a known one whose TXT record changed. */
  discovered(service: DiscoveredService): void {
    const advertised = advertisedBy(service)
    const wanted = this.#options.capabilities
    const useful = wanted.length === 0 || advertised.capabilities.some((c) => wanted.includes(c))
    const link = this.#links.get(service.url)
    if (link) {
      link.advertised = advertised
      if (!useful && link.source === 'mdns') this.#forget(link, `now advertises only ${advertised.capabilities.join(',') || 'nothing'}`)
      return
    }
    if (!useful) {
      this.#options.log(`ignoring worker ${advertised.id ?? service.instance} at ${service.url}: it advertises ${advertised.capabilities.join(',') || 'nothing'}, this dispatcher serves ${wanted.join(',')}`)
      return
    }
    this.add(service.url, 'mdns')
    this.#links.get(service.url)!.advertised = advertised
  }

  /** A discovery `down` (the worker said goodbye): forget it (a manual URL stays). */
  gone(service: DiscoveredService): void {
    const link = this.#links.get(service.url)
    if (link?.source === 'mdns') this.#forget(link, 'said goodbye (mDNS)')
  }

  /** Starts one attempt of `job` on the worker at `url`; returns its cancel function. */
  run(job: Job, url: string, attempt: number): () => void {
    const link = this.#links.get(url)
    const client = link?.client
    const controller = new AbortController()
    if (!client || link.state !== 'ready') {
      queueMicrotask(() => this.#scheduler.failed(job.id, attempt, url, new EchoError('E_CLOSED', `worker at ${url} is not connected`)))
      return () => {}
    }
    const params: JobParams = { jobId: job.id, attempt, capability: job.capability, audio: job.audio }
    client.rpc.request(JOB_METHOD, params, { timeoutMs: this.#options.jobTimeoutMs, signal: controller.signal }).then(
      (output) => {
        const out = output as JobOutput
        if (!out || typeof out.text !== 'string' || out.jobId !== job.id) {
          this.#scheduler.failed(job.id, attempt, url, new EchoError('E_PROTOCOL', `worker at ${url} answered job ${job.id} with something that is not its result`))
        } else this.#scheduler.complete(job.id, attempt, url, out.text)
      },
      (error: unknown) => this.#scheduler.failed(job.id, attempt, url, EchoError.from(error)),
    )
    return () => controller.abort()
  }

  /** The worker id behind a URL (for results and metric labels). */
  idOf(url: string): string {
    const link = this.#links.get(url)
    return link?.info?.id ?? link?.advertised?.id ?? url
  }

  view(): WorkerView[] {
    const load = new Map(this.#scheduler.workers().map((w) => [w.id, w]))
    return [...this.#links.values()].map((l) => ({
      url: l.url,
      source: l.source,
      state: l.state,
      id: l.info?.id ?? l.advertised?.id,
      capabilities: l.info?.capabilities ?? l.advertised?.capabilities ?? [],
      advertised: l.advertised,
      slots: l.info?.slots ?? l.advertised?.slots,
      running: load.get(l.url)?.running ?? 0,
      given: load.get(l.url)?.given ?? 0,
      reconnects: l.reconnects,
    }))
  }

  async close(): Promise<void> {
    this.#closed = true
    clearInterval(this.#monitor)
    await Promise.all([...this.#links.values()].map((l) => this.#drop(l, 'closed')))
    this.#links.clear()
  }

  async #connect(link: Link): Promise<void> {
    link.state = 'connecting'
    let client: WorkerClient | undefined
    try {
      client = await connectClient(link.url, this.#options.connectTimeoutMs)
      const connected = client
      connected.events.on(HEARTBEAT_EVENT, (beat: Heartbeat) => this.#beat(link, connected, beat))
      connected.on('disconnect', () => void this.#lost(link, connected, 'disconnected'))
      await connected.start()
      const info = validInfo(await connected.rpc.request(HELLO_METHOD, undefined, { timeoutMs: this.#options.connectTimeoutMs }))
      if (!info) throw new EchoError('E_PROTOCOL', `worker at ${link.url} answered worker.hello with something that is not a registration`)
      if (this.#closed || (link.state as LinkState) === 'closed') {
        await connected.stop().catch(() => {})
        return
      }
      // The same worker under another URL (listed by hand and discovered by a LAN address, say):
      // one link is enough, or it would be given twice its slots. This one waits as a spare.
      const twin = [...this.#links.values()].find((l) => l !== link && l.info?.id === info.id && (l.state === 'ready' || l.state === 'silent'))
      if (twin) throw new EchoError('E_DUPLICATE', `worker ${info.id} is already connected at ${twin.url}`)
      link.client = connected
      link.info = info
      link.state = 'ready'
      link.lastBeat = Date.now()
      link.failures = 0
      this.#scheduler.upsertWorker(link.url, info.capabilities, info.slots)
      this.#scheduler.setAvailable(link.url, true)
      this.#options.log(`worker ${info.id} registered at ${link.url}: ${info.capabilities.join(',')} × ${info.slots}`)
    } catch (error) {
      await client?.stop().catch(() => {})
      if (this.#closed || (link.state as LinkState) === 'closed') return
      link.failures++
      if (link.source === 'mdns' && link.failures >= this.#options.forgetAfter) return this.#forget(link, `unreachable ${link.failures} times`)
      link.state = 'down'
      this.#retry(link, EchoError.from(error).message)
    }
  }

  #retry(link: Link, why: string): void {
    const { initialMs, maxMs } = this.#options.backoff
    const base = Math.min(maxMs, initialMs * 2 ** Math.min(link.failures, 20))
    const delay = base * (0.5 + Math.random()) // ±50 % jitter: restarted workers are not hit in lockstep
    if (link.failures === 1) this.#options.log(`worker at ${link.url} unreachable (${why}); retrying with backoff`)
    link.timer = setTimeout(() => {
      link.reconnects++
      void this.#connect(link)
    }, delay)
  }

  #beat(link: Link, client: WorkerClient, beat: Heartbeat): void {
    // Only a well-formed heartbeat counts: garbage neither keeps a worker alive nor changes it.
    if (link.client !== client || !validBeat(beat)) return
    link.lastBeat = Date.now()
    if (link.info && beat.capabilities.join(',') !== link.info.capabilities.join(',')) {
      link.info = { ...link.info, capabilities: [...beat.capabilities] }
      this.#scheduler.upsertWorker(link.url, link.info.capabilities, link.info.slots)
    }
    if (link.state === 'silent') {
      link.state = 'ready'
      this.#options.log(`worker ${link.info?.id} heartbeats again`)
      this.#scheduler.setAvailable(link.url, true)
    }
  }

  #checkHeartbeats(): void {
    const now = Date.now()
    for (const link of this.#links.values()) {
      const quiet = now - link.lastBeat
      if (link.state === 'ready' && quiet > this.#options.heartbeatTimeoutMs) {
        link.state = 'silent'
        this.#options.log(`worker ${link.info?.id} missed its heartbeats for ${quiet} ms: requeueing its jobs`)
        this.#scheduler.setAvailable(link.url, false, 'stopped heartbeating')
      } else if (link.state === 'silent' && quiet > this.#options.evictAfterMs) {
        void this.#lost(link, link.client, `silent for ${quiet} ms`)
      }
    }
  }

  async #lost(link: Link, client: WorkerClient | undefined, why: string): Promise<void> {
    if (link.client !== client || link.state === 'closed' || link.state === 'down' || link.state === 'connecting') return
    this.#options.log(`worker ${link.info?.id ?? link.url} lost (${why})`)
    await this.#drop(link, 'down')
    if (this.#closed) return
    link.failures = 1
    this.#retry(link, why)
  }

  async #drop(link: Link, state: 'down' | 'closed'): Promise<void> {
    link.state = state
    clearTimeout(link.timer)
    this.#scheduler.setAvailable(link.url, false, state === 'down' ? 'connection lost' : 'removed')
    const client = link.client
    link.client = undefined
    await client?.stop().catch(() => {})
  }

  #forget(link: Link, why: string): void {
    this.#options.log(`forgetting worker ${link.info?.id ?? link.advertised?.id ?? link.url}: ${why}`)
    void this.#drop(link, 'closed')
    this.#links.delete(link.url)
    this.#scheduler.removeWorker(link.url, why)
  }
}
