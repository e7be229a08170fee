/** The dispatcher's options: this schema is the README's option table (keep them in step). */
import { validateOptions, type OptionsOf } from '@echostream/node'

/** The options with defaults applied, derived from the schema below (json-schema-to-ts: a property with a default is always there). */
export type DispatcherOptions = OptionsOf<typeof schema>

export const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    port: { type: 'integer', minimum: 0, maximum: 65535, default: 0, description: 'Port sessions connect to (0: any free port).' },
    host: { type: 'string', default: '127.0.0.1', description: 'Address sessions connect to.' },
    workers: { type: 'array', items: { type: 'string', pattern: '^wss?://' }, default: [], description: 'Worker URLs used without discovery (where multicast cannot reach).' },
    discovery: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: false, description: 'Find workers over mDNS (their TXT record carries caps, slots, worker id).' },
        interface: { type: 'string', default: '127.0.0.1', description: 'IPv4 address of the interface mDNS uses; your LAN address on a LAN.' },
        mdnsPort: { type: 'integer', minimum: 1, maximum: 65535, default: 5353, description: 'UDP port of mDNS.' },
        service: { type: 'string', minLength: 1, maxLength: 40, default: 'dispatch-worker', description: 'mDNS service name workers advertise.' },
      },
    },
    capabilities: { type: 'array', items: { type: 'string' }, default: [], description: 'Serve only these; discovered workers advertising none of them are not used. Empty: any.' },
    heartbeatTimeoutMs: { type: 'integer', minimum: 10, default: 1500, description: 'A worker silent this long takes no jobs and its jobs are requeued.' },
    evictAfterMs: { type: 'integer', minimum: 10, default: 6000, description: 'A worker silent this long is disconnected (and reconnected).' },
    jobTimeoutMs: { type: 'integer', minimum: 1, default: 30000, description: 'One attempt of a job fails (and is requeued) after this long.' },
    connectTimeoutMs: { type: 'integer', minimum: 1, default: 3000, description: 'Connecting to and registering with a worker.' },
    maxAttempts: { type: 'integer', minimum: 1, default: 5, description: 'Attempts per job before its session gets an E_JOB_FAILED result.' },
    maxQueue: { type: 'integer', minimum: 1, default: 10000, description: 'Open jobs (queued + running) across sessions; more are refused with E_BUSY.' },
    maxUtteranceBytes: { type: 'integer', minimum: 1, maximum: 1000000, default: 524288, description: "Audio bytes per utterance (a job's call to a worker must stay within the worker's 1 MiB maxPayload)." },
    maxAhead: { type: 'integer', minimum: 1, default: 1024, description: 'How far past its oldest missing result a session may send (bounds the reorder buffer).' },
    backoff: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        initialMs: { type: 'integer', minimum: 1, default: 100, description: 'First reconnect delay to a lost worker.' },
        maxMs: { type: 'integer', minimum: 1, default: 2000, description: 'Longest reconnect delay (doubling, ±50 % jitter).' },
      },
    },
    metrics: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        port: { type: 'integer', minimum: 0, maximum: 65535, default: 9464, description: 'Port of /metrics, /livez, /readyz (observability plugin).' },
        host: { type: 'string', default: '127.0.0.1', description: 'Address of the metrics listener.' },
      },
    },
    logLevel: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'silent'], default: 'info', description: 'Log level (pino, through the observability plugin).' },
  },
} as const

export type DispatcherInput = Partial<Omit<DispatcherOptions, 'discovery' | 'backoff' | 'metrics'>> & {
  discovery?: Partial<DispatcherOptions['discovery']>
  backoff?: Partial<DispatcherOptions['backoff']>
  metrics?: Partial<DispatcherOptions['metrics']>
}

/** Defaults applied, unknown keys refused (E_CONFIG naming the option and what is wrong). */
export function resolveOptions(input: DispatcherInput = {}): Readonly<DispatcherOptions> {
  return validateOptions<DispatcherOptions>(schema as never, input, 'dispatcher', 'options')
}
