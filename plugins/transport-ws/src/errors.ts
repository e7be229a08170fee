/**
 * Every error the transport makes, from one table (STYLE rule 7, the shape of `rpcErrors`).
 * A client that cannot connect gets `E_CLOSED` (retryable unless TLS says the certificate is
 * wrong); a server that cannot listen or read its TLS files gets `E_CONFIG`.
 */
import { defineErrors, ErrorCodes } from '@echostream/kernel'

export const TransportErrorCodes = {
  /** A client could not connect (refused, DNS, timeout, untrusted certificate). */
  E_CLOSED: ErrorCodes.E_CLOSED,
  /** The server cannot listen, or its TLS options are incomplete or unreadable. */
  E_CONFIG: ErrorCodes.E_CONFIG,
} as const

const C = TransportErrorCodes

export const transportErrors = defineErrors({
  tlsWrongHost: {
    code: C.E_CLOSED,
    message: (url: string, tls: string) => `TLS: the server certificate does not name the host of ${url} (${tls}): connect with a host the certificate lists, or give the server a certificate for this host.`,
    data: (_url: string, tls: string) => ({ tls }),
  },
  tlsExpired: {
    code: C.E_CLOSED,
    message: (url: string, tls: string) => `TLS: the server certificate of ${url} has expired (${tls}): renew it on the server.`,
    data: (_url: string, tls: string) => ({ tls }),
  },
  tlsUntrusted: {
    code: C.E_CLOSED,
    message: (url: string, tls: string) => `TLS: the server certificate of ${url} is not trusted (${tls}): give its CA in options['transport-ws'].tls.ca.`,
    data: (_url: string, tls: string) => ({ tls }),
  },
  cannotConnect: {
    code: C.E_CLOSED,
    retryable: true,
    message: (url: string, why: string, plainToTls: boolean) =>
      `Cannot connect to ${url}: ${why}. Is the server running and the URL right?${plainToTls ? ' If the server serves TLS, use a wss:// URL.' : ''}`,
  },
  halfTls: {
    code: C.E_CONFIG,
    message: () => `options['transport-ws'].tls needs both cert and key to serve wss://.`,
  },
  cannotListen: {
    code: C.E_CONFIG,
    message: (host: string, port: number, why: string) => `Cannot listen on ${host}:${port}: ${why}.`,
  },
  unreadablePem: {
    code: C.E_CONFIG,
    message: (value: string, baseDir: string, why: string) => `Cannot read TLS file '${value}' (from ${baseDir}): ${why}. Give PEM text or a readable path.`,
  },
})
