/** The codec's options: this schema is the README's option table. */
import type { OptionsOf } from '@echostream/kernel'

/**
 * 100 levels: the frame array, the payload, and 98 levels of application data. As protobuf's
 * default recursion limit (100): data nested deeper is almost always a bug (a linked list or a
 * cycle) or an attack. Far below what the stack holds (msgpackr's decoder recurses once per level;
 * a 1,000-level message decodes fine), so raising it is safe.
 */
export const DEFAULT_MAX_DEPTH = 100

/** The codec's options, derived from the schema below. */
export type MsgpackCodecOptions = OptionsOf<typeof schema>

export const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    bigint: { type: 'boolean', default: false, description: 'Decode 64-bit integers beyond 2^53 as BigInt.' },
    maxDepth: {
      type: 'integer',
      minimum: 8,
      maximum: 1000,
      default: DEFAULT_MAX_DEPTH,
      description: 'Deepest nesting of arrays/maps in a message (the frame array is level 1); deeper messages are refused with E_CODEC, deeper values fail to encode. Set the same on both sides.',
    },
  },
} as const

/** `options.maxDepth` checked against the schema's bounds (the codec can be made without the kernel's validation). */
export function maxDepthOf(options: Partial<MsgpackCodecOptions>): number {
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH
  if (!Number.isSafeInteger(maxDepth) || maxDepth < 8 || maxDepth > 1000) throw new RangeError(`maxDepth must be an integer from 8 to 1000 (the option schema), got ${String(maxDepth)}`)
  return maxDepth
}
