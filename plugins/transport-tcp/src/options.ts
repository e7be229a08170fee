import { TLS_OPTION_PROPERTIES, type OptionsOf } from '@echostream/kernel'

/** The transport's options, derived from the schema below. */
export type TcpTransportOptions = OptionsOf<typeof schema>

export const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    port: { type: 'integer', minimum: 0, maximum: 65535, default: 0, description: 'Server: TCP port; 0 picks a free one (read it from server.url).' },
    host: { type: 'string', default: '127.0.0.1', description: 'Server: interface to bind. Loopback by default; "0.0.0.0" or "::" for every interface.' },
    maxPayload: {
      type: 'integer',
      minimum: 1024,
      maximum: 1073741824,
      default: 1048576,
      description: 'Largest message accepted, in bytes; a frame declaring more closes the connection with 1009 before anything is buffered.',
    },
    pingIntervalMs: { type: 'integer', minimum: 1, default: 25000, description: 'Server: ping every connection this often (announced to clients in the handshake).' },
    pingTimeoutMs: { type: 'integer', minimum: 1, default: 20000, description: "Server: close a connection whose pong is this late. Both announced in the handshake: a client closes when no ping came for the server's pingIntervalMs + pingTimeoutMs." },
    highWaterMark: {
      type: 'integer',
      minimum: 65536,
      default: 1048576,
      description: "Send-buffer bytes above which the connection reports congestion (session.whenWritable waits). At least 64 KiB, the socket's own write buffer, so congestion always ends with the socket's 'drain'.",
    },
    connectTimeoutMs: { type: 'integer', minimum: 1, default: 10000, description: 'Client: give up connecting after this long. Server: drop a socket that has not sent the preamble within this long.' },
    closeTimeoutMs: { type: 'integer', minimum: 1, default: 2000, description: 'Destroy a socket whose peer has not ended its side this long after a close frame.' },
    tls: {
      type: 'object',
      additionalProperties: false,
      description: 'Server: cert + key serve tcps://. Client: ca trusts a private CA; rejectUnauthorized: false disables verification (never in production).',
      properties: {
        ...TLS_OPTION_PROPERTIES,
        servername: { type: 'string' },
      },
    },
  },
} as const

/**
 * The socket's own writable high-water mark: at or below ours, so a socket holding more than ours
 * has refused a write and will emit 'drain' (Node's default is 16 KiB on Node 20, 64 KiB from 22;
 * TLS server sockets keep the default, which the schema's 64 KiB minimum covers).
 */
export function socketHighWaterMark(highWaterMark: number): number {
  return Math.min(highWaterMark, 16 * 1024)
}

/** `tls` of the options: PEM text or file paths. */
export type TlsOptions = NonNullable<TcpTransportOptions['tls']>
