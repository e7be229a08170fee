/** The events plugin's options: this schema is the README's option table. */
export interface EventsOptions {
  /** Warn (once per event name) when more handlers than this are registered for one name; 0 never warns. */
  maxListeners: number
  /** Longest event name accepted, in UTF-16 code units, for local calls and for frames from the peer. */
  maxNameLength: number
}

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
