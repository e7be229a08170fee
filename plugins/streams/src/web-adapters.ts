/**
 * WHATWG stream adapters (the Node ones are in adapters.ts, which re-exports these). Each keeps the
 * stream's backpressure: readers are pulled only when the consumer's buffer has room (so credit is
 * returned only as the consumer reads), writers complete a chunk only once the stream sent it (so
 * `ready` waits while credit is short).
 */
import { EchoError } from '@echostream/kernel'
import { streamsError, StreamsErrorCodes } from './errors.js'
import type { StreamReader } from './reader.js'
import type { StreamWriter } from './writer.js'
import type { StreamFrame } from './types.js'

const utf8 = new TextEncoder()

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

export function asChunk(frame: StreamFrame<unknown>, name: string): Uint8Array {
  const data = frame.data
  if (data instanceof Uint8Array) return data
  // A Buffer on Node (as Node streams hand out), UTF-8 bytes where there is no Buffer (a page).
  if (typeof data === 'string') return typeof Buffer === 'undefined' ? utf8.encode(data) : Buffer.from(data, 'utf8')
  throw streamsError(StreamsErrorCodes.E_INVALID_ARGUMENT, `Stream '${name}' carried a non-binary frame (seq ${frame.seq}); read it with { mode: 'frames' }.`)
}

/**
 * The code and message to send when a consumer tears an adapter down with `reason`: its own code
 * if it is an EchoError, else E_CANCELLED with its message or description. Never throws (a reason
 * can be anything: a Proxy, an Error whose message getter throws).
 */
export function abortArgs(reason: unknown): [string, string | undefined] {
  if (reason === undefined || reason === null) return [StreamsErrorCodes.E_CANCELLED, undefined]
  const error = EchoError.from(reason, StreamsErrorCodes.E_CANCELLED)
  return [error.code, error.message]
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
