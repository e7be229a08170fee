/**
 * Node and WHATWG stream adapters. Each keeps the stream's backpressure: readers are pulled only
 * when the consumer's buffer has room (so credit is returned only as the consumer reads), writers
 * complete a chunk only once the stream sent it (so `write()` returns false / `ready` waits while
 * credit is short).
 */
import { Readable, Writable } from 'node:stream'
import { EchoError } from '@echostream/kernel'
import { streamsError, StreamsErrorCodes } from './errors.js'
import type { StreamReader } from './reader.js'
import type { StreamWriter } from './writer.js'
import type { StreamFrame } from './types.js'

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

export interface WebReadableOptions {
  mode?: 'bytes' | 'frames'
  /** Queue size before pulling stops: bytes (default 16 KiB) or frames (default 16). */
  highWaterMark?: number
}

export interface WebWritableOptions {
  mode?: 'bytes' | 'frames'
  /** Queue size before `ready` waits: bytes (default: the writer's highWaterMark) or frames (default 16). */
  highWaterMark?: number
}

function asChunk(frame: StreamFrame<unknown>, name: string): Uint8Array {
  const data = frame.data
  if (data instanceof Uint8Array) return data
  if (typeof data === 'string') return Buffer.from(data, 'utf8')
  throw streamsError(StreamsErrorCodes.E_INVALID_ARGUMENT, `Stream '${name}' carried a non-binary frame (seq ${frame.seq}); read it with { mode: 'frames' }.`)
}

/**
 * The code and message to send when a consumer tears an adapter down with `reason`: its own code
 * if it is an EchoError, else E_CANCELLED with its message or description. Never throws (a reason
 * can be anything: a Proxy, an Error whose message getter throws).
 */
function abortArgs(reason: unknown): [string, string | undefined] {
  if (reason === undefined || reason === null) return [StreamsErrorCodes.E_CANCELLED, undefined]
  const error = EchoError.from(reason, StreamsErrorCodes.E_CANCELLED)
  return [error.code, error.message]
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

export function toWebReadable<T>(reader: StreamReader<T>, options: WebReadableOptions = {}): ReadableStream {
  const frames = options.mode === 'frames'
  const strategy = frames
    ? new CountQueuingStrategy({ highWaterMark: options.highWaterMark ?? 16 })
    : new ByteLengthQueuingStrategy({ highWaterMark: options.highWaterMark ?? 16384 })
  return new ReadableStream<unknown>(
    {
      async pull(controller) {
        const frame = await reader.read()
        if (frame === undefined) controller.close()
        else controller.enqueue(frames ? frame : asChunk(frame, reader.name))
      },
      cancel(reason) {
        reader.cancel(...abortArgs(reason))
      },
    },
    strategy as QueuingStrategy<unknown>,
  )
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

export function toWebWritable<T>(writer: StreamWriter<T>, options: WebWritableOptions = {}): WritableStream<T> {
  const frames = options.mode === 'frames'
  const strategy = frames
    ? new CountQueuingStrategy({ highWaterMark: options.highWaterMark ?? 16 })
    : new ByteLengthQueuingStrategy({ highWaterMark: options.highWaterMark ?? writer.highWaterMark })
  return new WritableStream<T>(
    {
      write: (chunk) => writer.write(chunk),
      close: () => writer.end(),
      abort: (reason) => writer.abort(...abortArgs(reason)),
    },
    strategy as QueuingStrategy<T>,
  )
}
