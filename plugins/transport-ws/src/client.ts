/**
 * The Node client, on ws (TLS verification on by default, a private CA if given); a browser
 * bundles browser/ instead (the package's `browser` export condition). Liveness: the server
 * pings; once the welcome says how often (the kernel calls `expectPings`), a client that hears no
 * ping for that long assumes the link is dead (liveness.ts).
 */
import { formatPeer, type EchoError, type PeerSource } from '@echostream/kernel'
import { transportErrors } from './errors.js'
import type { WebSocket as WsSocket } from 'ws'
import { WsConnection } from './connection.js'
import { PingWatch } from './liveness.js'
import type { WsTransportOptions } from './options.js'
import { readPem } from './pem.js'

const UNTRUSTED = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'])

function describeConnectError(url: string, error: Error & { code?: string }): EchoError {
  const code = error.code
  let described: EchoError
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') described = transportErrors.tlsWrongHost(url, code)
  else if (code === 'CERT_HAS_EXPIRED') described = transportErrors.tlsExpired(url, code)
  else if (code && UNTRUSTED.has(code)) described = transportErrors.tlsUntrusted(url, code)
  else {
    const plainToTls = url.startsWith('ws://') && (code === 'ECONNRESET' || /socket hang up|Unexpected server response: 400/.test(error.message))
    described = transportErrors.cannotConnect(url, code ?? error.message, plainToTls)
  }
  return Object.assign(described, { cause: error })
}

/** Opens a Node client connection; its `pings` deadline is armed by whoever learns the server's cadence. */
export async function connectNode(url: string, options: Readonly<WsTransportOptions>, baseDir: string): Promise<WsConnection> {
  const { WebSocket } = await import('ws')
  const tls = options.tls
  const socket: WsSocket = new WebSocket(url, {
    maxPayload: options.maxPayload,
    perMessageDeflate: false,
    handshakeTimeout: options.connectTimeoutMs,
    ca: tls?.ca ? readPem(tls.ca, baseDir) : undefined,
    rejectUnauthorized: tls?.rejectUnauthorized ?? true,
  })
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => {
      socket.off('open', onOpen)
      socket.on('error', () => {})
      reject(describeConnectError(url, error))
    }
    const onOpen = () => {
      socket.off('error', onError)
      resolve()
    }
    socket.once('error', onError)
    socket.once('open', onOpen)
  })
  const raw = (socket as unknown as { _socket?: PeerSource })._socket
  const peer = (raw && formatPeer(raw)) ?? new URL(url).host
  const connection = new WsConnection(socket, peer, options)
  connection.pings = new PingWatch(connection)
  return connection
}
