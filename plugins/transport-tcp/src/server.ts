/**
 * The server side: a `net` (or `tls`) server, one `TcpConnection` per socket, handed to the kernel
 * once the client's preamble has arrived (a port scanner or an HTTP client never becomes a
 * session), and one pinger for all of them (the kernel's `PingRounds`: one deadline timer per round).
 */
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net'
import { createServer as createTlsServer } from 'node:tls'
import { PingRounds, type Connection, type EchoError } from '@echostream/kernel'
import { PREAMBLE, TransportCloseCodes } from './constants.js'
import { TcpConnection, type ConnectionOwner } from './connection.js'
import { tcpErrors } from './errors.js'
import { socketHighWaterMark, type TcpTransportOptions } from './options.js'
import { readPem } from './pem.js'

function formatHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1'
  if (host === '::') return '[::1]'
  return host.includes(':') ? `[${host}]` : host
}

export class TcpServer implements ConnectionOwner {
  #server: NetServer | undefined
  #pinger: PingRounds<TcpConnection> | undefined
  #onConnection: ((connection: Connection) => void) | undefined
  /** Every connection, ready or not (each leaves the set when its socket closes). */
  readonly #connections = new Set<TcpConnection>()

  constructor(
    private readonly options: Readonly<TcpTransportOptions>,
    private readonly baseDir: string,
  ) {}

  /** Bound `host:port`, once listening. */
  address: string | undefined

  async listen(onConnection: (connection: Connection) => void): Promise<string> {
    const { tls, host, port } = this.options
    const secure = Boolean(tls?.cert || tls?.key)
    if (secure && !(tls?.cert && tls?.key)) throw tcpErrors.tlsHalf()
    // The accepted sockets' writable high-water mark is at or below ours (see connection.ts whenWritable).
    const highWaterMark = socketHighWaterMark(this.options.highWaterMark)
    const server = secure
      ? createTlsServer({ cert: readPem(tls!.cert!, this.baseDir), key: readPem(tls!.key!, this.baseDir), passphrase: tls!.passphrase, highWaterMark })
      : createNetServer({ noDelay: true, highWaterMark })
    server.on(secure ? 'secureConnection' : 'connection', (socket: Socket) => this.#accept(socket))
    // A client that fails the TLS handshake never becomes a connection; nothing to report.
    if (secure) server.on('tlsClientError', () => {})
    this.#onConnection = onConnection
    this.#server = server
    await new Promise<void>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => reject(tcpErrors.listenFailed(host, port, error))
      server.once('error', onError)
      server.listen(port, host, () => {
        server.off('error', onError)
        resolve()
      })
    })
    server.on('error', () => {}) // after listening, errors belong to sockets
    const bound = server.address()
    const boundPort = typeof bound === 'object' && bound ? bound.port : port
    this.address = `${host.includes(':') ? `[${host}]` : host}:${boundPort}`
    this.#pinger = new PingRounds(this.#connections, this.options.pingIntervalMs, this.options.pingTimeoutMs)
    this.#pinger.start()
    return `${secure ? 'tcps' : 'tcp'}://${formatHost(host)}:${boundPort}`
  }

  #accept(socket: Socket): void {
    socket.setNoDelay(true)
    // The peer's address is read from the socket when first asked for (see TcpConnection#peer).
    new TcpConnection(socket, socket, this.options, this, this.#connections).awaitPreamble(this.options.connectTimeoutMs)
    socket.write(PREAMBLE)
  }

  /** ConnectionOwner: the client's preamble arrived. */
  ready(connection: TcpConnection): void {
    this.#onConnection?.(connection)
  }

  /** ConnectionOwner: never became a session (not a client of ours, or gone early): nothing to tell the kernel. */
  closedBeforeReady(_connection: TcpConnection, _code: number, _reason: string, _error: EchoError | undefined): void {}

  async close(): Promise<void> {
    this.#pinger?.stop()
    const server = this.#server
    this.#server = undefined
    const closing = [...this.#connections].map(
      (connection) =>
        new Promise<void>((resolve) => {
          if (connection.socket.destroyed) return resolve()
          connection.socket.once('close', () => resolve())
          if (connection.handshaken) connection.close(TransportCloseCodes.goingAway, 'server stopping')
          else connection.socket.destroy()
        }),
    )
    if (server?.listening) closing.push(new Promise<void>((resolve) => server.close(() => resolve())))
    await Promise.all(closing)
  }
}
