/**
 * The client side: Node uses ws (TLS verification on by default, a private CA if given); a browser
 * uses its own WebSocket (see browser-connection.ts). Liveness: the server pings; once the
 * welcome says how often, a client that hears no ping for that long assumes the link is dead
 * (liveness.ts, armed by the plugin's `connect`/`resumed` taps).
 */
import { EchoError, ErrorCodes } from '@echostream/kernel'
import type { WebSocket as WsSocket } from 'ws'
import { formatPeer, WsConnection, type PeerSource } from './connection.js'
import { PingWatch } from './liveness.js'
import type { WsTransportOptions } from './options.js'
import { readPem } from './pem.js'

function describeConnectError(url: string, error: Error & { code?: string }): EchoError {
  const tlsCodes = ['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY']
  if (error.code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new EchoError(ErrorCodes.E_CLOSED, `TLS: the server certificate does not name the host of ${url} (${error.code}): connect with a host the certificate lists, or give the server a certificate for this host.`, { cause: error, data: { tls: error.code } })
  }
  if (error.code === 'CERT_HAS_EXPIRED') {
    return new EchoError(ErrorCodes.E_CLOSED, `TLS: the server certificate of ${url} has expired (${error.code}): renew it on the server.`, { cause: error, data: { tls: error.code } })
  }
  if (error.code && tlsCodes.includes(error.code)) {
    return new EchoError(ErrorCodes.E_CLOSED, `TLS: the server certificate of ${url} is not trusted (${error.code}): give its CA in options['transport-ws'].tls.ca.`, { cause: error, data: { tls: error.code } })
  }
  const plainToTls = url.startsWith('ws://') && (error.code === 'ECONNRESET' || /socket hang up|Unexpected server response: 400/.test(error.message))
  return new EchoError(ErrorCodes.E_CLOSED, `Cannot connect to ${url}: ${error.code ?? error.message}. Is the server running and the URL right?${plainToTls ? ' If the server serves TLS, use a wss:// URL.' : ''}`, { cause: error, retryable: true })
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
