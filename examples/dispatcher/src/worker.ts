/**
 * A worker node: an echostream server that runs the fake model (model.ts) for the dispatchers
 * connected to it. It answers `worker.hello` (its registration: id, capabilities, slots), runs
 * `job.run` calls — at most `slots` at once, more are refused with a retryable E_BUSY — and
 * broadcasts a heartbeat every `heartbeatMs`. With discovery on, it advertises `dispatch-worker`
 * over mDNS with its capabilities in the TXT record (`caps`, `slots`, `worker`).
 */
import { createServer, EchoError } from '@echostream/kernel'
import presetDefault from '@echostream/preset-default'
import discoveryMdns from '@echostream/plugin-discovery-mdns'
import { delays, infer, type DelayModel } from './model.js'
import { dispatchErrors, HEARTBEAT_EVENT, HELLO_METHOD, JOB_METHOD, TXT_CAPS, TXT_ID, TXT_SLOTS, WORKER_SERVICE, type Heartbeat, type JobOutput, type JobParams, type WorkerInfo } from './protocol.js'

export interface MdnsOptions {
  /** IPv4 address of the interface mDNS uses ('127.0.0.1' = this machine only). */
  interface: string
  /** UDP port of mDNS (5353 on a LAN; tests use their own). */
  mdnsPort: number
}

export interface WorkerOptions {
  id: string
  capabilities: string[]
  slots?: number
  port?: number
  host?: string
  /** Seed of the delay distribution. */
  seed?: number
  delay?: DelayModel
  heartbeatMs?: number
  /** Advertise over mDNS (with the capabilities in TXT). */
  mdns?: MdnsOptions
}

export interface Worker {
  readonly url: string
  readonly info: WorkerInfo
  /** Jobs running now. */
  readonly active: number
  /** Changes what the worker offers: told to dispatchers by the next heartbeat and, with mDNS, re-announced in TXT. */
  setCapabilities(capabilities: string[]): void
  stop(): Promise<void>
}

const DEFAULT_DELAY: DelayModel = { minMs: 20, meanMs: 60, maxMs: 400 }

export async function startWorker(options: WorkerOptions): Promise<Worker> {
  const slots = options.slots ?? 2
  const info: WorkerInfo = { id: options.id, capabilities: [...options.capabilities], slots }
  const nextDelay = delays(options.seed ?? 1, options.delay ?? DEFAULT_DELAY)
  const txt = () => ({ [TXT_ID]: info.id, [TXT_CAPS]: info.capabilities.join(','), [TXT_SLOTS]: String(slots) })
  const server = await createServer({
    preset: presetDefault,
    plugins: options.mdns ? [discoveryMdns] : [],
    options: {
      'transport-ws': { port: options.port ?? 0, host: options.host ?? '127.0.0.1' },
      ...(options.mdns ? { 'discovery-mdns': { name: WORKER_SERVICE, interface: options.mdns.interface, mdnsPort: options.mdns.mdnsPort, properties: txt() } } : {}),
    },
  })
  let active = 0
  let completed = 0

  server.rpc.handle(HELLO_METHOD, (): WorkerInfo => ({ ...info, capabilities: [...info.capabilities] }))
  server.rpc.handle(JOB_METHOD, async (params: JobParams, ctx): Promise<JobOutput> => {
    if (!params || typeof params.jobId !== 'string' || typeof params.capability !== 'string' || !(params.audio instanceof Uint8Array)) {
      throw new EchoError('E_INVALID_PARAMS', 'job.run takes { jobId: string, attempt: number, capability: string, audio: binary }.')
    }
    if (!info.capabilities.includes(params.capability)) throw dispatchErrors.noCapability(params.capability, info.id)
    if (active >= slots) throw dispatchErrors.busy(info.id, slots)
    active++
    try {
      const tookMs = nextDelay()
      // The model "thinks"; a cancelled call (the dispatcher gave up on this attempt) stops at once.
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, tookMs)
        ctx.signal.addEventListener('abort', () => (clearTimeout(timer), reject(ctx.signal.reason)), { once: true })
      })
      completed++
      return { jobId: params.jobId, text: infer(params.capability, params.audio), worker: info.id, tookMs: Math.round(tookMs) }
    } finally {
      active--
    }
  })

  const beat = () => {
    const heartbeat: Heartbeat = { id: info.id, active, completed, capabilities: info.capabilities }
    server.events.broadcast(HEARTBEAT_EVENT, heartbeat)
  }
  await server.start()
  const timer = setInterval(beat, options.heartbeatMs ?? 250)
  server.on('stop', () => clearInterval(timer))

  return {
    url: server.url!,
    info,
    get active() {
      return active
    },
    setCapabilities(capabilities) {
      info.capabilities = [...capabilities]
      if (options.mdns) server.discovery.setProperties(txt())
      beat()
    },
    stop: () => server.stop(),
  }
}
