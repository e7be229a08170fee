/** The reconnect plugin's options, derived from the schema below. */
import type { OptionsOf } from '@echostream/kernel'
export type ReconnectOptions = OptionsOf<typeof schema>

export const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    initialDelayMs: { type: 'integer', minimum: 0, default: 1000, description: 'Client: delay before the first attempt.' },
    maxDelayMs: { type: 'integer', minimum: 0, default: 5000, description: 'Client: cap on the delay between attempts.' },
    factor: { type: 'number', minimum: 1, default: 2, description: 'Client: growth of the delay per attempt.' },
    jitter: { type: 'number', minimum: 0, maximum: 1, default: 0.5, description: 'Client: each delay is randomised by ± this fraction.' },
    maxAttempts: { type: 'integer', minimum: 0, default: 0, description: 'Client: give up after this many failed attempts (0 = never).' },
    graceMs: { type: 'integer', minimum: 0, default: 120000, description: 'Server: how long a lost session is kept for a resume.' },
    maxQueuedFrames: { type: 'integer', minimum: 1, default: 1000, description: 'Frames kept for replay per session (unacknowledged, or queued while offline).' },
    maxQueuedBytes: { type: 'integer', minimum: 1, default: 1048576, description: 'Bytes kept for replay per session: the real encoded size of each frame.' },
    ackEveryFrames: { type: 'integer', minimum: 1, default: 64, description: 'Acknowledge after this many received frames…' },
    ackIntervalMs: { type: 'integer', minimum: 1, default: 250, description: '…or after this long, whichever comes first.' },
    volatile: {
      type: 'array',
      items: { type: 'string' },
      default: ['clock.'],
      description: 'Frame kinds (prefixes) never queued or replayed: stale after a gap (clock probes).',
    },
  },
} as const
