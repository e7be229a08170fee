import { defineRpc } from '@echostream/kernel'
import type {} from '@echostream/preset-realtime'
import { monotonicUs, type JoinParams, type JoinResult, type Reference } from '../lib/protocol.js'
import { room } from '../lib/server-room.js'

/**
 * A client joins the round; the answer comes once the second client has joined, with the instant
 * (server time) at which both start their tone.
 */
export const join = defineRpc<JoinParams, JoinResult>('audio.join', (params, { session, signal }) => room.join(params, () => session.kernel.clock.now(), signal), {
  schema: {
    type: 'object',
    required: ['source', 'localOffsetMs', 'localErrorUs'],
    additionalProperties: false,
    properties: {
      source: { type: 'string', minLength: 1, maxLength: 32 },
      localOffsetMs: { type: 'number' },
      localErrorUs: { type: 'number' },
    },
  },
})

/**
 * Measurement only: the server's clock and this machine's monotonic clock, read back to back. A
 * client on the same machine turns it into the true server time (see lib/protocol.ts
 * `monotonicUs`); it is never used to align anything.
 */
export const reference = defineRpc<void, Reference>('audio.reference', (_params, { session }) => {
  const before = monotonicUs()
  const serverUs = session.kernel.clock.now()
  const after = monotonicUs()
  return { serverUs, monotonicUs: (before + after) / 2 }
})
