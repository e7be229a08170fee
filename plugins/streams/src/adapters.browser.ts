/**
 * What a page's bundle gets for adapters.ts (the package's `browser` field): the WHATWG adapters,
 * and Node's refusing with a coded error — a page has no node:stream.
 */
import { streamsError, StreamsErrorCodes } from './errors.js'
import type { toNodeReadable as NodeReadable, toNodeWritable as NodeWritable } from './adapters.js'

export { toWebReadable, toWebWritable, type WebReadableOptions, type WebWritableOptions } from './web-adapters.js'
export type { NodeReadableOptions, NodeWritableOptions } from './adapters.js'

const noNodeStreams = (): never => {
  throw streamsError(StreamsErrorCodes.E_STATE, 'Node streams do not exist in a browser: use toWebReadable() / toWebWritable() there.')
}
export const toNodeReadable = noNodeStreams as unknown as typeof NodeReadable
export const toNodeWritable = noNodeStreams as unknown as typeof NodeWritable
