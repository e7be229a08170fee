/**
 * What every transport plugin shares (STYLE: a helper lives once, in the kernel): the plugin
 * object around a server class and a connect function, the limits announced in the handshake, the
 * schema of the TLS options, and the peer address as sessions show it. Pure: no Node module here;
 * the transports bring their sockets.
 */
import { definePlugin, type PluginDefinition } from './plugin.js'
import type { Connection, Transport, TransportLimits } from './transport.js'

/** The options every socket transport has (its schema may add more). */
export interface SocketTransportOptions {
  maxPayload: number
  pingIntervalMs: number
  pingTimeoutMs: number
}

/** A transport's server side: listens, hands each connection over, closes. */
export interface TransportServer {
  listen(onConnection: (connection: Connection) => void): Promise<string>
  close(): Promise<void>
}

export interface TransportPluginSpec<Options extends SocketTransportOptions> {
  /** Plugin name, e.g. `transport-ws` (its options key). */
  name: string
  /** Transport name as sessions report it, e.g. `ws`. */
  transport: string
  version: string
  schema: Record<string, unknown>
  /** The server side, made once on a server (files such as TLS material resolve from `baseDir`). */
  createServer(options: Readonly<Options>, baseDir: string): TransportServer
  /** A client's connection to `url`. */
  connect(url: string, options: Readonly<Options>, baseDir: string): Promise<Connection>
}

/**
 * The plugin providing the `transport` capability. A server announces maxPayload and its ping
 * cadence in the handshake (a client then follows the server's cadence, not its own options); a
 * client announces only maxPayload.
 */
export function defineTransportPlugin<Options extends SocketTransportOptions>(spec: TransportPluginSpec<Options>): PluginDefinition<Options, Record<never, never>> {
  return definePlugin<Options, Record<never, never>>({
    name: spec.name,
    version: spec.version,
    kernel: '^1',
    provides: ['transport'],
    schema: spec.schema,
    setup(kernel, options) {
      const server = kernel.role === 'server' ? spec.createServer(options, kernel.baseDir) : undefined
      const limits: TransportLimits = Object.freeze(
        server ? { maxPayload: options.maxPayload, pingIntervalMs: options.pingIntervalMs, pingTimeoutMs: options.pingTimeoutMs } : { maxPayload: options.maxPayload },
      )
      const transport: Transport = {
        name: spec.transport,
        listen: (onConnection) => server!.listen(onConnection),
        close: async () => server?.close(),
        connect: (url) => spec.connect(url, options, kernel.baseDir),
        limits: () => limits,
      }
      kernel.provide('transport', transport)
      return () => server?.close()
    },
  })
}

/**
 * The `tls` options both socket transports take, PEM text or a file path each (a transport's
 * schema may add fields, as TCP's `servername`).
 */
export const TLS_OPTION_PROPERTIES = {
  cert: { type: 'string' },
  key: { type: 'string' },
  passphrase: { type: 'string' },
  ca: { type: 'string' },
  rejectUnauthorized: { type: 'boolean', default: true },
} as const

/** Where a server-side connection's peer address is read from, when first asked for (a net socket). */
export interface PeerSource {
  readonly remoteAddress?: string
  readonly remotePort?: number
}

/** `host:port` (IPv6 hosts in brackets), or undefined when the socket no longer knows. */
export function formatPeer(source: PeerSource): string | undefined {
  const { remoteAddress, remotePort } = source
  if (!remoteAddress) return undefined
  return remoteAddress.includes(':') ? `[${remoteAddress}]:${remotePort}` : `${remoteAddress}:${remotePort}`
}
