/** The RPC plugin's options, derived from the schema below. */
import type { OptionsOf } from '@echostream/kernel'
export type RpcOptions = OptionsOf<typeof schema>

/** setTimeout's largest delay; a longer one would fire at once. */
export const MAX_TIMEOUT_MS = 2_147_483_647

export const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    defaultTimeoutMs: {
      type: 'integer',
      minimum: 0,
      maximum: MAX_TIMEOUT_MS,
      default: 30000,
      description: 'Milliseconds a call waits for its reply when the call gives no timeoutMs; then it rejects with E_TIMEOUT and the peer is told to cancel. 0 waits forever.',
    },
    maxPending: {
      type: 'integer',
      minimum: 1,
      default: 100000,
      description: 'Per session: most calls this side may have waiting for replies at once. One more rejects at once with E_MAX_PENDING (retryable), bounding memory when the peer is slow or gone quiet.',
    },
    maxConcurrent: {
      type: 'integer',
      minimum: 1,
      default: 100000,
      description: "Per session: most calls from the peer whose async handlers may be running at once. One more is answered E_BUSY (retryable), so a peer cannot grow this side's memory without bound.",
    },
    exposeErrors: {
      type: 'boolean',
      default: true,
      description: "Send the message of a plain Error thrown by a handler to the caller (code E_INTERNAL). false sends a generic message instead (the error goes to the kernel's logger either way). EchoErrors always keep their code, message and data; stacks never cross.",
    },
    idleTimeoutMs: {
      type: 'integer',
      minimum: 0,
      maximum: MAX_TIMEOUT_MS,
      default: 30000,
      description: 'Streaming calls: once the reply stream has begun, the call fails with E_TIMEOUT (and the peer is told to cancel) when no item arrives for this many milliseconds while the handler has credit to send. A per-call idleTimeoutMs overrides it. 0 = no idle timeout.',
    },
    windowBytes: {
      type: 'integer',
      minimum: 1,
      maximum: 1073741824,
      default: 65536,
      description: "Streaming calls: the credit, in bytes of encoded messages, this side grants a handler's stream of results; the handler pauses when it is used up until the caller reads on. A per-call windowBytes overrides it. Memory per stream stays within this plus one item.",
    },
    checkResults: {
      type: 'string',
      enum: ['development', 'always', 'never'],
      default: 'development',
      description: "When a handler's result (each item, for a streaming handler) is checked against its method's result schema before it is sent: 'development' unless NODE_ENV is 'production', 'always', or 'never'. A result that fails is not sent: the caller gets E_INVALID_RESULT listing the problems, and the log says so.",
    },
  },
} as const
