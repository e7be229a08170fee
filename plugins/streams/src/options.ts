/** The streams plugin's options: this schema is the README's option table. */
export interface StreamsOptions {
  /** Credit bytes this side grants per stream the peer opens to it (its receive window per stream). */
  streamWindow: number
  /** Credit bytes this side grants per session over all streams the peer opens to it. */
  connectionWindow: number
  /** Streams the peer may have open to this side at once, per session. */
  maxStreams: number
  /** Default bytes a writer queues locally (drop-oldest bound; Node/Web writable adapters' highWaterMark). */
  writeHighWaterMark: number
  /** How long `open()` waits for the peer to accept. */
  openTimeoutMs: number
  /** Longest stream name accepted, locally and from the peer. */
  maxNameLength: number
}

export const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    streamWindow: {
      type: 'integer',
      minimum: 1024,
      maximum: 1073741824,
      default: 65536,
      description:
        'Receive window per stream, in credit bytes: at most this much unread data per stream is held for the application. Also the largest single write the peer can make. Keep it below transport-ws maxPayload.',
    },
    connectionWindow: {
      type: 'integer',
      minimum: 1024,
      maximum: 4294967296,
      default: 1048576,
      description: 'Receive window per session over all incoming streams, in credit bytes. Must be >= streamWindow.',
    },
    maxStreams: {
      type: 'integer',
      minimum: 1,
      maximum: 65536,
      default: 100,
      description: 'Incoming streams a peer may have open at once per session; one more is refused with E_STREAM_LIMIT.',
    },
    writeHighWaterMark: {
      type: 'integer',
      minimum: 1,
      default: 65536,
      description: "Default highWaterMark of a writer, in bytes: the bound of a 'drop-oldest' queue and of the Node/Web writable adapters' buffer. Per stream: open(name, meta, { highWaterMark }).",
    },
    openTimeoutMs: {
      type: 'integer',
      minimum: 1,
      default: 10000,
      description: 'open() rejects with E_TIMEOUT when the peer has not accepted or refused within this time. Per stream: open(name, meta, { timeoutMs }).',
    },
    maxNameLength: {
      type: 'integer',
      minimum: 1,
      maximum: 65535,
      default: 256,
      description: 'Longest stream name accepted; a longer one is refused (E_INVALID_ARGUMENT locally, E_PROTOCOL from the peer).',
    },
  },
} as const
