/**
 * The server side: a ws `WebSocketServer` on its own HTTP(S) server, one `WsConnection` per client,
 * and one pinger for all of them (the kernel's PingRounds: one timer per round, not per connection).
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { IncomingMessage } from 'node:http'
import { WebSocketServer, type WebSocket } from 'ws'
import { CloseCodes, PingRounds, type Connection } from '@echostream/kernel'
import { transportErrors } from './errors.js'
import { WsConnection, type ServerConnectionSettings } from './connection.js'
import { ServerSocket } from './liveness.js'
import type { WsTransportOptions } from './options.js'
import { readPem } from './pem.js'

function formatHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1'
  if (host === '::') return '[::1]'
  return host.includes(':') ? `[${host}]` : host
}

export class WsServer {
  #wss: WebSocketServer | undefined
  #http: HttpServer | undefined
  #pinger: PingRounds<WsConnection> | undefined
  /** Live connections (each leaves the set when its socket closes). */
  readonly #connections = new Set<WsConnection>()
  /** What every connection of this server shares: its settings and the set above. */
  readonly #settings: ServerConnectionSettings

  constructor(
    private readonly options: Readonly<WsTransportOptions>,
    private readonly baseDir: string,
  ) {
    this.#settings = Object.freeze({ highWaterMark: options.highWaterMark, closeTimeoutMs: options.closeTimeoutMs, connections: this.#connections })
  }

  /** Bound `host:port`, once listening. */
  address: string | undefined

  async listen(onConnection: (connection: Connection) => void): Promise<string> {
    const { tls, host, port, path, maxPayload } = this.options
    const secure = Boolean(tls?.cert || tls?.key)
    if (secure && !(tls?.cert && tls?.key)) {
      throw transportErrors.halfTls()
    }
    const http = secure
      ? createHttpsServer({ cert: readPem(tls!.cert!, this.baseDir), key: readPem(tls!.key!, this.baseDir), passphrase: tls!.passphrase })
      : createHttpServer()
    http.on('request', (_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('This is an echostream WebSocket endpoint: connect with an echostream client.\n')
    })
    const wss = new WebSocketServer({ server: http, path, maxPayload, perMessageDeflate: false, clientTracking: false, WebSocket: ServerSocket, autoPong: false })
    wss.on('connection', (socket, request) => this.#accept(socket, request, onConnection))
    wss.on('error', () => {}) // errors surface on the HTTP server's listen below
    this.#wss = wss
    this.#http = http
    await new Promise<void>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => {
        const why = error.code === 'EADDRINUSE' ? 'the port is in use; pick another port (or 0 for any free one)' : error.message
        reject(Object.assign(transportErrors.cannotListen(host, port, why), { cause: error }))
      }
      http.once('error', onError)
      http.listen(port, host, () => {
        http.off('error', onError)
        resolve()
      })
    })
    const bound = http.address()
    const boundPort = typeof bound === 'object' && bound ? bound.port : port
    this.address = `${host.includes(':') ? `[${host}]` : host}:${boundPort}`
    this.#pinger = new PingRounds(this.#connections, this.options.pingIntervalMs, this.options.pingTimeoutMs)
    this.#pinger.start()
    return `${secure ? 'wss' : 'ws'}://${formatHost(host)}:${boundPort}${path === '/' ? '' : path}`
  }

  #accept(socket: WebSocket, request: IncomingMessage, onConnection: (connection: Connection) => void): void {
    // The peer's address is read from the request's socket when first asked for (see WsConnection#peer).
    onConnection(new WsConnection(socket, request.socket, this.#settings))
  }

  async close(): Promise<void> {
    this.#pinger?.stop()
    const closing = [...this.#connections].map(
      (connection) =>
        new Promise<void>((resolve) => {
          if (connection.socket.readyState === 3) return resolve()
          connection.socket.once('close', () => resolve())
          connection.close(CloseCodes.goingAway, 'server stopping')
        }),
    )
    await Promise.all(closing)
    await new Promise<void>((resolve) => (this.#wss ? this.#wss.close(() => resolve()) : resolve()))
    const http = this.#http
    if (http?.listening) {
      await new Promise<void>((resolve) => {
        http.close(() => resolve())
        http.closeAllConnections?.()
      })
    }
    this.#wss = undefined
    this.#http = undefined
  }
}
