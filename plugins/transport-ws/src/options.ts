import { TLS_OPTION_PROPERTIES, type OptionsOf } from '@echostream/kernel'

/** The transport's options, derived from the schema below. */
export type WsTransportOptions = OptionsOf<typeof schema>

export const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    port: { type: 'integer', minimum: 0, maximum: 65535, default: 0, description: 'Server: TCP port; 0 picks a free one (read it from server.url).' },
    host: { type: 'string', default: '127.0.0.1', description: 'Server: interface to bind. Loopback by default (as Fastify); "0.0.0.0" or "::" for every interface.' },
    path: { type: 'string', default: '/', pattern: '^/', description: 'Server: HTTP path of the WebSocket endpoint.' },
    maxPayload: { type: 'integer', minimum: 1024, default: 1048576, description: 'Largest message accepted, in bytes; announced in the handshake, so the peer refuses to send more (E_PAYLOAD_TOO_LARGE); one that arrives anyway closes the connection with 1009.' },
    pingIntervalMs: { type: 'integer', minimum: 1, default: 25000, description: 'Server: ping every connection this often (announced in welcome.limits).' },
    pingTimeoutMs: { type: 'integer', minimum: 1, default: 20000, description: "Server: close a connection whose pong is this late (announced; a client allows the server's interval + timeout of silence)." },
    highWaterMark: { type: 'integer', minimum: 1, default: 1048576, description: 'Send-buffer bytes above which the connection reports congestion (session.whenWritable waits).' },
    connectTimeoutMs: { type: 'integer', minimum: 1, default: 10000, description: 'Client: give up opening the socket after this long.' },
    closeTimeoutMs: { type: 'integer', minimum: 1, default: 2000, description: 'Terminate a socket whose close handshake takes longer than this.' },
    tls: {
      type: 'object',
      additionalProperties: false,
      description: 'Server: cert + key serve wss://. Client: ca trusts a private CA; rejectUnauthorized: false disables verification (never in production).',
      properties: TLS_OPTION_PROPERTIES,
    },
  },
} as const

/** `tls` of the options: PEM text or file paths. */
export type TlsOptions = NonNullable<WsTransportOptions['tls']>
