/**
 * What crosses the wire between the three roles, in one place: sessions → dispatcher (one stream
 * per utterance, results back as events), dispatcher → workers (a hello, job calls) and workers →
 * dispatcher (heartbeat events). The error table of the app is here too (`defineErrors`).
 */
import { defineErrors } from '@echostream/kernel'

/** Stream a session opens per utterance; `meta` is `UtteranceMeta`, frames are binary audio chunks. */
export const UTTERANCE_STREAM = 'utterance'
/** Event the dispatcher sends a session per result, in utterance order. */
export const RESULT_EVENT = 'dispatch.result'
/** Event the dispatcher sends once an utterance is whole and queued (`Receipt` without `error`), or refused (with `error`). */
export const RECEIPT_EVENT = 'dispatch.receipt'
/** RPC a dispatcher calls on a worker once connected: its registration. */
export const HELLO_METHOD = 'worker.hello'
/** RPC a dispatcher calls on a worker per job attempt. */
export const JOB_METHOD = 'job.run'
/** Event a worker broadcasts to its dispatchers every `heartbeatMs`. */
export const HEARTBEAT_EVENT = 'worker.heartbeat'
/** mDNS service name workers advertise (discovery-mdns `name`). */
export const WORKER_SERVICE = 'dispatch-worker'
/** TXT property keys a worker advertises. */
export const TXT_CAPS = 'caps'
export const TXT_SLOTS = 'slots'
export const TXT_ID = 'worker'

export interface UtteranceMeta {
  /** 0, 1, 2… per session: results come back in this order. */
  index: number
  /** What to run (`recognise`, `translate`…): only workers offering it get the job. */
  capability: string
}

/** JSON Schema of `UtteranceMeta` (the streams plugin refuses an open that does not match). */
export const utteranceMetaSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['index', 'capability'],
  properties: {
    index: { type: 'integer', minimum: 0, maximum: 2 ** 31 - 1 },
    capability: { type: 'string', pattern: '^[a-z][a-z0-9-]{0,31}$' },
  },
} as const

export interface WorkerInfo {
  id: string
  capabilities: string[]
  /** Jobs the worker runs at once; more are refused with E_BUSY. */
  slots: number
}

export interface Heartbeat {
  id: string
  /** Jobs running now. */
  active: number
  /** Jobs finished since the worker started. */
  completed: number
  capabilities: string[]
}

export interface JobParams {
  jobId: string
  attempt: number
  capability: string
  audio: Uint8Array
}

export interface JobOutput {
  jobId: string
  text: string
  worker: string
  /** How long the model took, ms. */
  tookMs: number
}

/**
 * The dispatcher's answer to one utterance stream: accepted (queued as a job) or refused with a
 * code. `stream` is the stream id both sides know (`writer.id`, `ctx.id`), so two streams with the
 * same index are told apart. A stream writer alone cannot learn this: its `end()` resolves once
 * sent, before the receiver has read anything.
 */
export interface Receipt {
  stream: number
  index: number
  error?: { code: string; message: string }
}

/** One result as a session receives it. */
export interface SessionResult {
  index: number
  capability: string
  /** Present when the job succeeded. */
  text?: string
  /** Worker whose result was delivered. */
  worker?: string
  /** Attempts it took (1 = first try). */
  attempts: number
  /** Submit → result, ms, measured by the dispatcher. */
  latencyMs: number
  /** Present when the job failed for good (attempts exhausted, or no worker could run it). */
  error?: { code: string; message: string }
}

export const dispatchErrors = defineErrors({
  duplicateUtterance: {
    code: 'E_DUPLICATE',
    message: (index: number) => `utterance ${index} was already sent on this session; send each index once (0, 1, 2…).`,
  },
  indexOutOfWindow: {
    code: 'E_INVALID_ARGUMENT',
    message: (index: number, next: number, window: number) =>
      `utterance ${index} is too far ahead: results are delivered in order and ${next} is still missing; keep indices below ${next + window} (maxAhead ${window}).`,
  },
  tooLarge: {
    code: 'E_PAYLOAD_TOO_LARGE',
    message: (max: number) => `an utterance's audio is over ${max} bytes (maxUtteranceBytes); split it into several utterances.`,
  },
  notBinary: {
    code: 'E_INVALID_PARAMS',
    message: () => 'utterance frames must be binary audio chunks (Uint8Array/Buffer).',
  },
  queueFull: {
    code: 'E_BUSY',
    retryable: true,
    message: (max: number) => `the dispatcher already holds ${max} jobs (maxQueue); wait for results and send again.`,
  },
  noCapability: {
    code: 'E_CAPABILITY',
    message: (capability: string, worker: string) => `worker ${worker} cannot '${capability}'; the dispatcher sends jobs only to workers offering the capability.`,
  },
  busy: {
    code: 'E_BUSY',
    retryable: true,
    message: (worker: string, slots: number) => `worker ${worker} already runs ${slots} jobs (slots); the dispatcher requeues the job.`,
  },
  gaveUp: {
    code: 'E_JOB_FAILED',
    message: (attempts: number, last: string) => `the job failed ${attempts} times (maxAttempts); last error: ${last}`,
  },
  sessionGone: {
    code: 'E_CLOSED',
    message: () => 'the session closed before its result was ready.',
  },
})
