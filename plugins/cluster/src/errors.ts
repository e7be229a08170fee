/**
 * Every error the cluster plugin makes, from one factory (STYLE rule 7). Messages say what
 * happened and what to do next.
 */
import { createError, ErrorCodes, type EchoError } from '@echostream/kernel'

export const ClusterErrorCodes = {
  /** A routed emit/request to a session that ended (or never existed) anywhere in the cluster. */
  E_SESSION_GONE: 'E_SESSION_GONE',
  /** The session still exists but no live node holds it now (its client is reconnecting): retry. */
  E_SESSION_OFFLINE: 'E_SESSION_OFFLINE',
  /** The node holding the target session died while the request was pending: the outcome is unknown. */
  E_NODE_LOST: 'E_NODE_LOST',
  /** A call the client made was running on a node that died: it may or may not have taken effect. */
  E_INTERRUPTED: 'E_INTERRUPTED',
  /** Redis is unreachable: cross-node operations fail until it is back (local traffic continues). */
  E_BROKER_DOWN: 'E_BROKER_DOWN',
  /** A routed request got no reply in time. */
  E_TIMEOUT: ErrorCodes.E_TIMEOUT,
  /** A missing plugin or a bad option combination. */
  E_CONFIG: ErrorCodes.E_CONFIG,
  /** Called on the wrong side (a server-only method on a client). */
  E_STATE: ErrorCodes.E_STATE,
  /** A local call with a bad argument. */
  E_INVALID_ARGUMENT: 'E_INVALID_ARGUMENT',
} as const

export type ClusterErrorCode = (typeof ClusterErrorCodes)[keyof typeof ClusterErrorCodes]

const C = ClusterErrorCodes

export const clusterErrors = {
  sessionGone: (sessionId: string): EchoError =>
    createError(C.E_SESSION_GONE, `Session '${sessionId}' is gone: it ended (or its grace period expired) on every node. Drop your reference to it; a client that comes back has a new session id.`, { data: { sessionId } }),

  sessionOffline: (sessionId: string): EchoError =>
    createError(C.E_SESSION_OFFLINE, `Session '${sessionId}' exists but no live node holds it right now (its client is reconnecting): try again shortly.`, { retryable: true, data: { sessionId } }),

  nodeLost: (node: string, what: string): EchoError =>
    createError(C.E_NODE_LOST, `Node '${node}' died while ${what} was pending there: it may or may not have run. Retry only if it is safe to run twice.`, { retryable: true, data: { node } }),

  interrupted: (method: string): EchoError =>
    createError(C.E_INTERRUPTED, `'${method}' was running on a node that died before it answered: it may or may not have taken effect. Check its effect before calling it again.`, { data: { method } }),

  brokerDown: (what: string, cause?: unknown): EchoError =>
    createError(C.E_BROKER_DOWN, `Redis is unreachable, so ${what} cannot reach other nodes: the cluster reconnects by itself; retry once \`cluster.ready\` is true again.`, { retryable: true, cause }),

  timeout: (what: string, ms: number): EchoError =>
    createError(C.E_TIMEOUT, `${what} got no reply within ${ms} ms: pass a larger timeoutMs (or raise options.cluster.requestTimeoutMs).`, { retryable: true }),

  config: (message: string): EchoError => createError(C.E_CONFIG, message),

  serverOnly: (method: string): EchoError => createError(C.E_STATE, `cluster.${method} works on a server only: clients reach other nodes through their server.`),

  invalidArgument: (message: string): EchoError => createError(C.E_INVALID_ARGUMENT, message),

  redisServerFailed: (command: string, reason: string, output: string, cause?: unknown): EchoError =>
    createError(C.E_CONFIG, `The local ${command} did not start: ${reason}.${output.trim() ? ` Its output: ${output.trim().slice(-500)}` : ''} Install Redis (Debian: apt-get install redis-server) so that ${command} is on PATH, or connect to a Redis you run (its URL as the cluster's redisUrl).`, { cause, data: { command } }),

  redisServerTimeout: (command: string, port: number, ms: number, output: string): EchoError =>
    createError(C.E_TIMEOUT, `The local ${command} on port ${port} was not ready within ${ms} ms${output.trim() ? ` (its output: ${output.trim().slice(-500)})` : ''}: pass a larger timeoutMs on a busy machine.`, { retryable: true, data: { command, port } }),
}
