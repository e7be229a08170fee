/** The codec's options: this schema is the README's option table. */
export const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    bigint: { type: 'boolean', default: false, description: 'Decode 64-bit integers beyond 2^53 as BigInt.' },
  },
} as const
