/** The observability plugin's options: one JSON schema (defaults live here) and its type. */

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

export interface ObservabilityOptions {
  level: LogLevel
  format: 'json' | 'pretty'
  destination: string
  admin: boolean
  host: string
  port: number
  prefix: string
  defaultMetrics: boolean
  rpcBuckets: number[]
}

export const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    level: { enum: [...LOG_LEVELS], default: 'info', description: "Lowest log level written ('trace' adds one line per frame)." },
    format: { enum: ['json', 'pretty'], default: 'json', description: "'json': one JSON object per line (for log collectors); 'pretty': coloured, readable lines for a terminal (pino-pretty)." },
    destination: { type: 'string', minLength: 1, default: 'stdout', description: "'stdout', 'stderr', or a file path (relative to the config file's folder), appended to." },
    admin: { type: 'boolean', default: true, description: 'Serve /metrics, /livez and /readyz on an HTTP admin listener of its own.' },
    host: { type: 'string', minLength: 1, default: '127.0.0.1', description: "Admin listener's address. Loopback by default: expose it on purpose ('0.0.0.0')." },
    port: { type: 'integer', minimum: 0, maximum: 65535, default: 9464, description: 'Admin listener port (0: any free port; read `observability.adminUrl`).' },
    prefix: { type: 'string', pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$', default: 'echostream_', description: 'Prefix of every metric name.' },
    defaultMetrics: { type: 'boolean', default: true, description: "prom-client's process metrics (event-loop lag, heap, GC, CPU)." },
    rpcBuckets: {
      type: 'array',
      items: { type: 'number', exclusiveMinimum: 0 },
      minItems: 1,
      default: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      description: 'Buckets (seconds) of the RPC latency histogram.',
    },
  },
} as const
