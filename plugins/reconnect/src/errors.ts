/**
 * Every error the reconnect plugin makes, from one table (STYLE rule 7, the shape of `rpcErrors`).
 */
import { defineErrors, ErrorCodes } from '@echostream/kernel'

export const ReconnectErrorCodes = {
  /** A server-only method called on a client. */
  E_STATE: ErrorCodes.E_STATE,
  /** The server side from the browser build (a page is a client). */
  E_CONFIG: ErrorCodes.E_CONFIG,
  /** A send while offline with the offline queue full (retryable), or a resume the server refused. */
  E_CLOSED: ErrorCodes.E_CLOSED,
  /** A malformed `reconnect.ack` from the peer. */
  E_PROTOCOL: ErrorCodes.E_PROTOCOL,
} as const

export const reconnectErrors = defineErrors({
  offlineQueueFull: {
    code: ReconnectErrorCodes.E_CLOSED,
    retryable: true,
    message: (kind: string, frames: number, bytes: number, maxFrames: number, maxBytes: number) =>
      `Offline, and the queue is full (${frames} frames, ${bytes} bytes; the limits are ${maxFrames} frames or ${maxBytes} bytes): '${kind}' was not queued. Wait for 'reconnected', send it volatile if it may be lost, or raise options.reconnect.maxQueuedFrames/maxQueuedBytes.`,
  },
  replayFull: {
    code: ReconnectErrorCodes.E_CLOSED,
    message: (kind: string, maxFrames: number, maxBytes: number) =>
      `'${kind}' was not queued: this session is suspended and its replay buffer is full (${maxFrames} frames or ${maxBytes} bytes), so it ends now and its client will start a new session (recovered: false). Raise options.reconnect.maxQueuedFrames/maxQueuedBytes to keep more for a resume.`,
  },
  serverOnly: {
    code: ReconnectErrorCodes.E_STATE,
    message: (method: string) => `reconnect.${method}() works on a server only; this kernel is a client.`,
  },
  serverInBrowser: {
    code: ReconnectErrorCodes.E_CONFIG,
    message: () => "reconnect's server side is not in its browser build (a page is a client): run servers on Node.",
  },
  badAck: {
    code: ReconnectErrorCodes.E_PROTOCOL,
    message: (ack: string) => `'${ack}' needs a non-negative integer payload (the count of frames received on this session).`,
  },
})
