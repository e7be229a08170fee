/**
 * Every error the TCP transport makes, from one table (STYLE rule 7, the shape of
 * plugins/rpc/src/errors.ts): throw sites pass only arguments. Framing errors (hostile bytes) are
 * never thrown: the receiver hands them to the connection, which closes with `data.closeCode`.
 */
import { createError, EchoError, ErrorCodes, type ErrorCode } from '@echostream/kernel'
import { FRAMING_VERSION, MAX_CONTROL_BODY, TransportCloseCodes } from './constants.js'

export const TcpErrorCodes = {
  /** A bad URL, half a TLS config, an unreadable PEM file, a port in use. */
  E_CONFIG: ErrorCodes.E_CONFIG,
  /** Cannot connect: refused, timed out, TLS refused, not an echostream TCP server. */
  E_CLOSED: ErrorCodes.E_CLOSED,
  /** The peer broke the framing (unknown frame type, oversize control frame, bad close frame, bad preamble). */
  E_PROTOCOL: ErrorCodes.E_PROTOCOL,
  /** A message declared larger than maxPayload (closes with 1009 before anything is allocated). */
  E_PAYLOAD_TOO_LARGE: ErrorCodes.E_PAYLOAD_TOO_LARGE,
  /** The peer speaks another version of the TCP framing. */
  E_INCOMPATIBLE: ErrorCodes.E_INCOMPATIBLE,
} as const

const C = TcpErrorCodes

/** A framing error: what the receiver reports, with the close code the connection closes with. */
function framing(code: ErrorCode, closeCode: number, message: string, data: Record<string, unknown> = {}): EchoError {
  return createError(code, message, { data: { closeCode, ...data } })
}

/** The close code a framing error asks for (1002 when it names none). */
export function closeCodeOf(error: EchoError): number {
  const code = (error.data as { closeCode?: unknown } | undefined)?.closeCode
  return typeof code === 'number' ? code : TransportCloseCodes.protocolError
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ')
}

/** What the first bytes of a non-echostream peer suggest it is. */
function guessPeer(bytes: Uint8Array): string {
  if (bytes[0] === 0x16 || bytes[0] === 0x15) return ' It looks like a TLS server: use a tcps:// URL.'
  const text = String.fromCharCode(...bytes.subarray(0, 5))
  if (text === 'HTTP/') return ' It looks like an HTTP server: for a WebSocket endpoint load transport-ws and use a ws:// URL.'
  return ''
}

export const tcpErrors = {
  badUrl: (url: string): EchoError =>
    createError(C.E_CONFIG, `transport-tcp connects to tcp://host:port or tcps://host:port URLs, not '${url}': fix the client's url (for ws:// URLs load transport-ws instead).`),

  tlsHalf: (): EchoError => createError(C.E_CONFIG, `options['transport-tcp'].tls needs both cert and key to serve tcps://.`),

  pemUnreadable: (value: string, baseDir: string, error: unknown): EchoError =>
    createError(C.E_CONFIG, `Cannot read TLS file '${value}' (from ${baseDir}): ${(error as Error)?.message ?? error}. Give PEM text or a readable path.`, { cause: error }),

  listenFailed: (host: string, port: number, error: NodeJS.ErrnoException): EchoError =>
    createError(C.E_CONFIG, `Cannot listen on ${host}:${port}: ${error.code === 'EADDRINUSE' ? 'the port is in use; pick another port (or 0 for any free one)' : error.message}.`, { cause: error }),

  connectFailed: (url: string, error: NodeJS.ErrnoException): EchoError =>
    createError(C.E_CLOSED, `Cannot connect to ${url}: ${error.code ?? error.message}. Is the server running and the URL right?${error.code === 'ERR_SSL_WRONG_VERSION_NUMBER' || error.code === 'ECONNRESET' ? ' If the server is plain TCP, use a tcp:// URL; if it serves TLS, tcps://.' : ''}`, {
      cause: error,
      retryable: true,
    }),

  connectTimeout: (url: string, ms: number): EchoError =>
    createError(C.E_CLOSED, `Cannot connect to ${url}: no answer within ${ms} ms (options['transport-tcp'].connectTimeoutMs). Is the server running and reachable?`, { retryable: true }),

  tlsUntrusted: (url: string, tlsCode: string, error: unknown): EchoError =>
    createError(C.E_CLOSED, `TLS: the server certificate of ${url} is not trusted (${tlsCode}): give its CA in options['transport-tcp'].tls.ca.`, { cause: error, data: { tls: tlsCode } }),

  tlsAltName: (url: string, tlsCode: string, error: unknown): EchoError =>
    createError(C.E_CLOSED, `TLS: the server certificate does not name the host of ${url} (${tlsCode}): connect with a host the certificate lists, or give the server a certificate for this host.`, {
      cause: error,
      data: { tls: tlsCode },
    }),

  tlsExpired: (url: string, tlsCode: string, error: unknown): EchoError =>
    createError(C.E_CLOSED, `TLS: the server certificate of ${url} has expired (${tlsCode}): renew it on the server.`, { cause: error, data: { tls: tlsCode } }),

  notEchostream: (url: string, bytes: Uint8Array): EchoError =>
    createError(C.E_CLOSED, `${url} is not an echostream TCP server: it answered with bytes ${hex(bytes)} instead of the preamble "ECHOTCP".${guessPeer(bytes)}`),

  serverVersion: (url: string, version: number): EchoError =>
    createError(C.E_INCOMPATIBLE, `${url} speaks echostream TCP framing version ${version}; this client speaks ${FRAMING_VERSION}: upgrade @echostream/plugin-transport-tcp on the older side.`, {
      data: { theirs: version, ours: FRAMING_VERSION },
    }),

  closedBeforeReady: (url: string, code: number, reason: string): EchoError =>
    createError(C.E_CLOSED, `${url} closed the connection before it was ready (${code}${reason ? `: ${reason}` : ''}).`, { retryable: true, data: { code } }),

  // ---- framing errors: hostile bytes, reported to the connection (never thrown)

  badPreamble: (bytes: Uint8Array): EchoError =>
    framing(C.E_PROTOCOL, TransportCloseCodes.protocolError, `not an echostream TCP peer: expected the preamble "ECHOTCP", got bytes ${hex(bytes)}.${guessPeer(bytes)}`, {
      bytes: Uint8Array.from(bytes.subarray(0, 8)),
    }),

  clientVersion: (version: number): EchoError =>
    framing(C.E_INCOMPATIBLE, TransportCloseCodes.protocolError, `echostream TCP framing version ${version} is not supported: this side speaks ${FRAMING_VERSION}. Upgrade the older side.`, { theirs: version }),

  tooLarge: (length: number, maxPayload: number): EchoError =>
    framing(C.E_PAYLOAD_TOO_LARGE, TransportCloseCodes.tooLarge, `message of ${length} bytes is larger than maxPayload (${maxPayload}): send smaller messages, or raise maxPayload on the receiver.`, { length, maxPayload }),

  unknownType: (type: number): EchoError =>
    framing(C.E_PROTOCOL, TransportCloseCodes.protocolError, `unknown frame type 0x${type.toString(16).padStart(2, '0')}: the peer does not speak echostream TCP framing version ${FRAMING_VERSION}.`, { type }),

  controlTooLong: (type: number, length: number): EchoError =>
    framing(C.E_PROTOCOL, TransportCloseCodes.protocolError, `control frame 0x${type.toString(16).padStart(2, '0')} of ${length} bytes: control frames carry at most ${MAX_CONTROL_BODY}.`, { type, length }),

  badCloseCode: (code: number | undefined): EchoError =>
    framing(C.E_PROTOCOL, TransportCloseCodes.protocolError, code === undefined ? 'close frame without a code (it needs at least 2 bytes).' : `close frame with invalid code ${code}.`),

  badCloseReason: (): EchoError => framing(C.E_PROTOCOL, TransportCloseCodes.invalidData, 'close frame whose reason is not valid UTF-8.'),
} satisfies Record<string, (...args: never[]) => EchoError>
