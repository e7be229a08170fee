/**
 * Node stream adapters, and the WHATWG ones (web-adapters.ts) re-exported. Each keeps the stream's
 * backpressure: readers are pulled only when the consumer's buffer has room (so credit is
 * returned only as the consumer reads), writers complete a chunk only once the stream sent it (so
 * `write()` returns false while credit is short). A page's bundle gets adapters.browser.ts (the
 * package's `browser` field): no node:stream there.
 */
import { Readable, Writable } from 'node:stream'
import { abortArgs, asChunk } from './web-adapters.js'
import type { StreamReader } from './reader.js'
import type { StreamWriter } from './writer.js'

export { toWebReadable, toWebWritable, type WebReadableOptions, type WebWritableOptions } from './web-adapters.js'

export interface NodeReadableOptions {
  /** 'bytes' (default): chunks are the frames' data as Buffers (strings as UTF-8). 'frames': `{ wallTime, seq, data }` objects. */
  mode?: 'bytes' | 'frames'
  /** Node's highWaterMark (bytes, or frames in 'frames' mode). Default Node's (16 KiB / 16). */
  highWaterMark?: number
}

export interface NodeWritableOptions {
  /** 'bytes' (default): chunks are binary (strings are encoded by Node). 'frames': any value, one frame per write. */
  mode?: 'bytes' | 'frames'
  /** Node's highWaterMark; default: the writer's highWaterMark (bytes) or 16 (frames). */
  highWaterMark?: number
}

export function toNodeReadable<T>(reader: StreamReader<T>, options: NodeReadableOptions = {}): Readable {
  const frames = options.mode === 'frames'
  let reading = false
  const readable: Readable = new Readable({
    objectMode: frames,
    ...(options.highWaterMark === undefined ? {} : { highWaterMark: options.highWaterMark }),
    read() {
      if (reading) return
      reading = true
      reader.read().then(
        (frame) => {
          reading = false
          if (frame === undefined) readable.push(null)
          else readable.push(frames ? frame : asChunk(frame, reader.name))
        },
        (error: unknown) => {
          reading = false
          readable.destroy(error as Error)
        },
      )
    },
    destroy(error, callback) {
      // The consumer gave up (or the stream failed, which makes cancel a no-op).
      reader.cancel(...abortArgs(error))
      callback(error)
    },
  })
  return readable
}

export function toNodeWritable<T>(writer: StreamWriter<T>, options: NodeWritableOptions = {}): Writable {
  const frames = options.mode === 'frames'
  return new Writable({
    objectMode: frames,
    highWaterMark: options.highWaterMark ?? (frames ? 16 : writer.highWaterMark),
    write(chunk: T, _encoding, callback) {
      writer.write(chunk).then(() => callback(), callback)
    },
    final(callback) {
      writer.end().then(() => callback(), callback)
    },
    destroy(error, callback) {
      if (error) writer.abort(...abortArgs(error))
      callback(error)
    },
  })
}
