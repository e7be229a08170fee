/**
 * The client side (Node only: browsers have no raw TCP). `tcp://host:port` opens a `net` socket,
 * `tcps://host:port` a `tls` one (certificates verified by default, a private CA if given). Once
 * connected, each side writes its preamble; `connect` resolves when the server's has arrived, so a
 * URL that points at something else (a TLS port, an HTTP server) fails here with a message that
 * says what it looks like. Liveness: the server pings and announces its cadence in the handshake;
 * no ping for the server's pingIntervalMs + pingTimeoutMs → the client terminates with 4008
 * (`TcpConnection#expectPings`).
 */
import { connect as netConnect, isIP, type NetConnectOpts, type Socket } from 'node:net'
import { connect as tlsConnect, type ConnectionOptions as TlsConnectionOptions } from 'node:tls'
import type { Connection, EchoError } from '@echostream/kernel'
import { PREAMBLE } from './constants.js'
import { TcpConnection, type ConnectionOwner } from './connection.js'
import { tcpErrors } from './errors.js'
import { socketHighWaterMark, type TcpTransportOptions } from './options.js'
import { readPem } from './pem.js'

export interface TcpUrl {
  secure: boolean
  host: string
  port: number
}

/** `tcp://host:port` or `tcps://host:port` (IPv6 hosts in brackets); anything else is E_CONFIG. */
export function parseTcpUrl(url: string): TcpUrl {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw tcpErrors.badUrl(url)
  }
  const secure = parsed.protocol === 'tcps:'
  if ((!secure && parsed.protocol !== 'tcp:') || !parsed.hostname || !parsed.port || (parsed.pathname !== '' && parsed.pathname !== '/')) throw tcpErrors.badUrl(url)
  const host = parsed.hostname.startsWith('[') ? parsed.hostname.slice(1, -1) : parsed.hostname
  return { secure, host, port: Number(parsed.port) }
}

const TLS_UNTRUSTED = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'])

function describeConnectError(url: string, error: NodeJS.ErrnoException): EchoError {
  const code = error.code ?? ''
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return tcpErrors.tlsAltName(url, code, error)
  if (code === 'CERT_HAS_EXPIRED') return tcpErrors.tlsExpired(url, code, error)
  if (TLS_UNTRUSTED.has(code)) return tcpErrors.tlsUntrusted(url, code, error)
  return tcpErrors.connectFailed(url, error)
}

/** The error for a server whose first bytes were not our preamble: what it looks like, or its framing version. */
function fromFraming(url: string, error: EchoError): EchoError {
  const data = error.data as { theirs?: number; bytes?: Uint8Array } | undefined
  if (data?.theirs !== undefined) return tcpErrors.serverVersion(url, data.theirs)
  return data?.bytes ? tcpErrors.notEchostream(url, data.bytes) : error
}

export async function connectTcp(url: string, options: Readonly<TcpTransportOptions>, baseDir: string): Promise<Connection> {
  const { secure, host, port } = parseTcpUrl(url)
  const tls = options.tls
  const writableHighWaterMark = socketHighWaterMark(options.highWaterMark)
  // Node passes stream options on to the socket; @types/node does not list them.
  const socket: Socket = secure
    ? tlsConnect({
        host,
        port,
        servername: tls?.servername ?? (isIP(host) ? undefined : host),
        ca: tls?.ca ? readPem(tls.ca, baseDir) : undefined,
        rejectUnauthorized: tls?.rejectUnauthorized ?? true,
        highWaterMark: writableHighWaterMark,
      } as TlsConnectionOptions)
    : netConnect({ host, port, noDelay: true, writableHighWaterMark } as NetConnectOpts)
  return new Promise<Connection>((resolve, reject) => {
    let settled = false
    const fail = (error: EchoError) => {
      clearTimeout(timer)
      socket.destroy()
      if (!settled) reject(error)
      settled = true
    }
    const timer = setTimeout(() => fail(tcpErrors.connectTimeout(url, options.connectTimeoutMs)), options.connectTimeoutMs)
    const onError = (error: NodeJS.ErrnoException) => fail(describeConnectError(url, error))
    socket.once('error', onError)
    // Resolves when the server's preamble has arrived; fails when the socket closes first or sends something else.
    const owner: ConnectionOwner = {
      ready(connection) {
        clearTimeout(timer)
        socket.off('error', onError)
        settled = true
        resolve(connection)
      },
      closedBeforeReady(connection, code, reason, error) {
        if (error) return fail(fromFraming(url, error))
        if (connection.socketError) return onError(connection.socketError)
        fail(tcpErrors.closedBeforeReady(url, code, reason))
      },
    }
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      socket.setNoDelay(true)
      new TcpConnection(socket, `${host.includes(':') ? `[${host}]` : host}:${port}`, options, owner)
      socket.write(PREAMBLE)
    })
  })
}
