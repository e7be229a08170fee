/** The devtools plugin's options: one JSON schema (defaults live here) and its type. */

export interface DevtoolsOptions {
  token?: string
  http: boolean
  host: string
  port: number
  url?: string
  intervalMs: number
  name?: string
  version?: string
  maxSessions: number
  maxStreams: number
  maxRooms: number
  maxErrors: number
}

/** The `hello` field a devtools client puts its token in (registered with `kernel.registerCredentials`). */
export const TOKEN_FIELD = 'devtoolsToken'
/** The RPC method and the pushed event: the contract with the page and `echostream status`/`inspect --url`. */
export const SNAPSHOT_METHOD = 'devtools.snapshot'
export const UPDATE_EVENT = 'devtools.update'

export const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    token: {
      type: 'string',
      minLength: 16,
      maxLength: 512,
      description: "Server: the token a devtools client must present (≥ 16 characters; absent: a random one, logged once). Client: the token it sends in hello.devtoolsToken.",
    },
    http: { type: 'boolean', default: true, description: 'Serve the devtools page on an HTTP listener of its own (the snapshot RPC works either way).' },
    host: { type: 'string', minLength: 1, default: '127.0.0.1', description: "The page listener's address. Loopback by default: expose it on purpose." },
    port: { type: 'integer', minimum: 0, maximum: 65535, default: 9465, description: 'The page listener port (0: any free port; read `devtools.pageUrl`).' },
    url: { type: 'string', pattern: '^wss?://', description: "The WebSocket URL the page connects to (default: the server's own url; set it behind a proxy)." },
    intervalMs: { type: 'integer', minimum: 100, maximum: 60000, default: 1000, description: 'How often a devtools.update event is pushed to devtools sessions.' },
    name: { type: 'string', minLength: 1, maxLength: 200, description: "The server's name in snapshots (default: `name` of the package.json in the config's folder)." },
    version: { type: 'string', minLength: 1, maxLength: 100, description: "The app's version in snapshots (default: `version` of that package.json, else the kernel's)." },
    maxSessions: { type: 'integer', minimum: 1, maximum: 10000, default: 200, description: 'Sessions listed in a snapshot (the count is always complete).' },
    maxStreams: { type: 'integer', minimum: 1, maximum: 10000, default: 200, description: 'Streams listed in a snapshot.' },
    maxRooms: { type: 'integer', minimum: 1, maximum: 10000, default: 200, description: 'Rooms listed in a snapshot.' },
    maxErrors: { type: 'integer', minimum: 1, maximum: 1000, default: 50, description: 'Recent errors kept (a ring: the oldest goes first).' },
  },
} as const
