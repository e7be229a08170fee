/**
 * Bytes → frames (ws's `receiver`, for the TCP framing in constants.ts). Fed whatever chunks the
 * socket delivers: a frame split over many chunks, many frames in one chunk, a header cut in two.
 *
 * Bounded: it holds at most one frame in progress, and a message whose declared length is above
 * `maxPayload` is refused from its 5-byte header alone (1009), before a byte of it is buffered or
 * allocated. Hostile bytes never throw: they become one `onFramingError` call, after which the
 * receiver ignores everything (the connection closes).
 *
 * A message inside one socket chunk is delivered as a view of that chunk (no copy); only a message
 * split across chunks is copied into a buffer of its exact size.
 */
import type { EchoError } from '@echostream/kernel'
import { FrameType, HEADER_BYTES, MAGIC_BYTES, MAX_CONTROL_BODY, PREAMBLE, PREAMBLE_BYTES, isValidCloseCode } from './constants.js'
import { tcpErrors } from './errors.js'

/** Where the receiver delivers frames: the connection implements it (no closure per frame or per connection). */
export interface FrameSink {
  /** The peer's preamble arrived and matches. */
  onPreamble(): void
  /** One message body; `arrivedAt` is whatever the connection passed with the chunk. */
  onFrameMessage(body: Buffer, arrivedAt: number): void
  onPing(body: Buffer): void
  onPong(body: Buffer): void
  /** The peer's close frame; nothing after it is read. */
  onCloseFrame(code: number, reason: string): void
  /** Hostile or foreign bytes: close with `closeCodeOf(error)`; nothing after it is read. */
  onFramingError(error: EchoError): void
}

const enum State {
  preamble,
  header,
  body,
  done,
}

const EMPTY = Buffer.alloc(0)
const utf8 = new TextDecoder('utf-8', { fatal: true })

export class FrameReceiver {
  #state: State
  /** Unread chunks; bytes before `#offset` in the first one are already consumed. */
  #chunks: Buffer[] = []
  #offset = 0
  #buffered = 0
  #type = 0
  #length = 0

  constructor(
    private readonly sink: FrameSink,
    private readonly maxPayload: number,
    expectPreamble = true,
  ) {
    this.#state = expectPreamble ? State.preamble : State.header
  }

  /** Bytes read but not yet delivered (at most one frame in progress plus the rest of a chunk). */
  get buffered(): number {
    return this.#buffered
  }

  /**
   * Gives back the chunk queue's backing store when nothing is buffered: an array keeps the
   * capacity it grew to (17 slots, 152 B) after it empties, for as long as the connection then
   * idles. Called after a pong (connection.ts), so an idle connection returns it every ping round.
   */
  trim(): void {
    if (this.#buffered === 0 && this.#chunks.length === 0) this.#chunks = []
  }

  /** Stops reading: later chunks are dropped (after a close frame, an error, or the connection closing). */
  stop(): void {
    this.#state = State.done
    this.#chunks = []
    this.#offset = 0
    this.#buffered = 0
  }

  push(chunk: Buffer, arrivedAt = 0): void {
    if (this.#state === State.done || chunk.byteLength === 0) return
    this.#chunks.push(chunk)
    this.#buffered += chunk.byteLength
    for (;;) {
      const state = this.#state
      if (state === State.header) {
        if (this.#buffered < HEADER_BYTES) return
        this.#readHeader()
      } else if (state === State.body) {
        if (this.#buffered < this.#length) return
        const body = this.#consume(this.#length)
        this.#state = State.header
        this.#dispatch(body, arrivedAt)
      } else if (state === State.preamble) {
        if (this.#buffered < PREAMBLE_BYTES) return
        this.#readPreamble()
      } else return
    }
  }

  #readPreamble(): void {
    const got = this.#consume(PREAMBLE_BYTES)
    for (let i = 0; i < MAGIC_BYTES; i++) {
      if (got[i] !== PREAMBLE[i]) return this.#fail(tcpErrors.badPreamble(got))
    }
    if (got[MAGIC_BYTES] !== PREAMBLE[MAGIC_BYTES]) return this.#fail(tcpErrors.clientVersion(got[MAGIC_BYTES]!))
    this.#state = State.header
    this.sink.onPreamble()
  }

  #readHeader(): void {
    let type: number
    let length: number
    const first = this.#chunks[0]!
    const at = this.#offset
    if (first.byteLength - at >= HEADER_BYTES) {
      type = first[at]!
      length = first.readUInt32BE(at + 1)
      this.#skip(HEADER_BYTES)
    } else {
      const header = this.#consume(HEADER_BYTES)
      type = header[0]!
      length = header.readUInt32BE(1)
    }
    if (type === FrameType.message) {
      // Refused from the header alone: nothing of an oversize message is buffered or allocated.
      if (length > this.maxPayload) return this.#fail(tcpErrors.tooLarge(length, this.maxPayload))
    } else if (type === FrameType.ping || type === FrameType.pong || type === FrameType.close) {
      if (length > MAX_CONTROL_BODY) return this.#fail(tcpErrors.controlTooLong(type, length))
    } else return this.#fail(tcpErrors.unknownType(type))
    this.#type = type
    this.#length = length
    this.#state = State.body
  }

  #dispatch(body: Buffer, arrivedAt: number): void {
    switch (this.#type) {
      case FrameType.message:
        return this.sink.onFrameMessage(body, arrivedAt)
      case FrameType.ping:
        return this.sink.onPing(body)
      case FrameType.pong:
        return this.sink.onPong(body)
      default:
        return this.#closeFrame(body)
    }
  }

  #closeFrame(body: Buffer): void {
    const code = body.byteLength >= 2 ? body.readUInt16BE(0) : undefined
    if (code === undefined || !isValidCloseCode(code)) return this.#fail(tcpErrors.badCloseCode(code))
    let reason: string
    try {
      reason = utf8.decode(body.subarray(2))
    } catch {
      return this.#fail(tcpErrors.badCloseReason())
    }
    this.stop()
    this.sink.onCloseFrame(code, reason)
  }

  #fail(error: EchoError): void {
    this.stop()
    this.sink.onFramingError(error)
  }

  /** Drops `n` bytes known to lie in the first chunk. */
  #skip(n: number): void {
    this.#buffered -= n
    this.#offset += n
    if (this.#offset === this.#chunks[0]!.byteLength) {
      this.#chunks.shift()
      this.#offset = 0
    }
  }

  /** The next `n` buffered bytes: a view when they lie in the first chunk, else one copy. */
  #consume(n: number): Buffer {
    if (n === 0) return EMPTY
    const first = this.#chunks[0]!
    const at = this.#offset
    if (first.byteLength - at >= n) {
      const view = first.subarray(at, at + n)
      this.#skip(n)
      return view
    }
    const out = Buffer.allocUnsafe(n)
    let filled = 0
    while (filled < n) {
      const chunk = this.#chunks[0]!
      const take = Math.min(chunk.byteLength - this.#offset, n - filled)
      chunk.copy(out, filled, this.#offset, this.#offset + take)
      filled += take
      this.#skip(take)
    }
    return out
  }
}
