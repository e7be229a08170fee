/** The events plugin's options, derived from the schema below. */
import type { OptionsOf } from '@echostream/kernel'
export type EventsOptions = OptionsOf<typeof schema>

export const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    maxListeners: {
      type: 'integer',
      minimum: 0,
      default: 10,
      description: 'Log a warning (once per event name) when more handlers than this are registered for one event name — usually a leak. 0 turns the warning off.',
    },
    maxNameLength: {
      type: 'integer',
      minimum: 1,
      maximum: 65535,
      default: 256,
      description: 'Longest event name accepted. A longer name in a local call throws E_INVALID_ARGUMENT; from the peer it is answered with an E_PROTOCOL error frame.',
    },
  },
} as const
