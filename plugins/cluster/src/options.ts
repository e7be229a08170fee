/** The cluster plugin's options, derived from the schema below. */
import type { OptionsOf } from '@echostream/kernel'
export type ClusterOptions = OptionsOf<typeof schema>

export const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    redisUrl: { type: 'string', minLength: 1, default: 'redis://127.0.0.1:6379', description: 'Server: the Redis every node of the cluster shares.' },
    namespace: { type: 'string', minLength: 1, pattern: '^[A-Za-z0-9_.-]+$', default: 'es', description: 'Server: prefix of every key and channel (several clusters can share one Redis).' },
    nodeId: { type: 'string', pattern: '^[A-Za-z0-9_.-]*$', default: '', description: "Server: this node's id ('' = a random one per start)." },
    heartbeatMs: { type: 'integer', minimum: 50, default: 1000, description: 'Server: how often a node refreshes its liveness, its presence entries and its sessions’ TTLs.' },
    nodeTtlMs: { type: 'integer', minimum: 100, default: 4000, description: 'Server: a node (and its presence entries) not refreshed for this long is dead: its members are reported as leaves, calls to it fail.' },
    replayFrames: { type: 'integer', minimum: 1, default: 1000, description: "Server: frames kept in each session's replay log in Redis (a resume that needs older ones is reported impossible)." },
    roomHistory: { type: 'integer', minimum: 0, default: 1000, description: 'Server: events kept per room (and for broadcasts) to fill gaps after a resume or a broker blip (0 = none: gaps are only reported).' },
    roomHistoryTtlMs: { type: 'integer', minimum: 1000, default: 300000, description: "Server: a room's history and offsets expire this long after its last event." },
    catchUpLimit: { type: 'integer', minimum: 1, default: 1000, description: 'Server: most events read from a history in one catch-up (a larger gap is reported, not read).' },
    presenceWhileSuspended: { type: 'boolean', default: true, description: 'Server: a session whose connection was lost (suspended, waiting for a resume) stays in presence (true), or leaves it at once (reason `suspended`) and joins again when it resumes (false: presence shows who is connected now).' },
    requestTimeoutMs: { type: 'integer', minimum: 1, default: 10000, description: 'Server: default timeout of a request routed to a session on another node.' },
    connectTimeoutMs: { type: 'integer', minimum: 1, default: 5000, description: 'Server: how long `start` waits for Redis before failing.' },
    urls: { type: 'array', items: { type: 'string', minLength: 1 }, default: [], description: 'Client: the nodes’ URLs; the client starts with the first (unless `url` is set) and moves to the next one on every reconnect attempt.' },
  },
} as const
