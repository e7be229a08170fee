/** The streams plugin's options, derived from the schema below. */
import type { OptionsOf } from '@echostream/kernel'
export type StreamsOptions = OptionsOf<typeof schema>

export const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    streamWindow: {
      type: 'integer',
      minimum: 1024,
      maximum: 1073741824,
      default: 262144,
      description:
        'Initial and smallest receive window per stream, in credit bytes (encoded bytes of the data messages). Also the largest single write the peer can make. Auto-tuning grows it up to maxStreamWindow while the application reads fast and shrinks it back while it reads slowly.',
    },
    connectionWindow: {
      type: 'integer',
      minimum: 1024,
      maximum: 4294967296,
      default: 1048576,
      description: 'Initial and smallest receive window per session over all incoming streams, in credit bytes. Must be >= streamWindow. Auto-tuned up to maxConnectionWindow.',
    },
    maxStreamWindow: {
      type: 'integer',
      minimum: 1024,
      maximum: 1073741824,
      default: 8388608,
      description: 'The most one stream window grows to, in credit bytes: the most unread data one stream holds. Must be >= streamWindow and <= maxConnectionWindow; equal to streamWindow turns tuning off per stream.',
    },
    maxConnectionWindow: {
      type: 'integer',
      minimum: 1024,
      maximum: 4294967296,
      default: 16777216,
      description:
        'The most the connection window grows to, in credit bytes: the cap on unread stream data this side holds per session (all incoming streams together). Must be >= connectionWindow and >= maxStreamWindow; equal to connectionWindow turns tuning off.',
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
