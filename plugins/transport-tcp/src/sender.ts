/**
 * Frames → socket writes (ws's `sender`). Small frames written in one event-loop turn are
 * coalesced into ONE buffer and ONE `socket.write` on the next tick: a batch of 64 RPC replies
 * costs one syscall and one Buffer, the headers written straight into it — instead of 128
 * `write` calls (header + body each) and their write requests. A message of at least
 * `DIRECT_BYTES` is not copied: its 5-byte header and the caller's bytes go out together in one
 * corked `writev`, after whatever small frames were waiting (order is kept).
 *
 * Backpressure is the socket's own: `pending` bytes wait here at most until the next tick, then
 * sit in the socket's writable buffer (`socket.writableLength`) until the kernel takes them.
 */
import type { Socket } from 'node:net'
import { FrameType, HEADER_BYTES, MAX_CLOSE_REASON } from './constants.js'

/**
 * Messages at least this large are written without a copy: copying 16 KiB costs ~1 µs, more than
 * the separate write request it saves, and a copied stream chunk would be garbage at once.
 */
export const DIRECT_BYTES = 16 * 1024
/** A turn's coalesced frames are flushed early once they reach this many bytes (bounds the copy buffer). */
export const COALESCE_LIMIT = 64 * 1024

const EMPTY = new Uint8Array(0)

/** Writes `[type][length u32 BE]` at `at`. */
function writeHeader(out: Buffer, at: number, type: number, length: number): void {
  out[at] = type
  out.writeUInt32BE(length, at + 1)
}

/** A close frame body: u16 code + the reason, cut to 123 UTF-8 bytes on a character boundary. */
export function closeBody(code: number, reason: string): Buffer {
  let text = Buffer.from(reason, 'utf8')
  if (text.byteLength > MAX_CLOSE_REASON) {
    let end = MAX_CLOSE_REASON
    while (end > 0 && (text[end]! & 0xc0) === 0x80) end-- // don't split a multi-byte character
    text = text.subarray(0, end)
  }
  const body = Buffer.allocUnsafe(2 + text.byteLength)
  body.writeUInt16BE(code, 0)
  text.copy(body, 2)
  return body
}

export class FrameSender {
  /** This turn's frames, flushed together: their types and bodies. */
  #types: number[] = []
  #bodies: Uint8Array[] = []
  #pending = 0
  #scheduled = false

  constructor(private readonly socket: Socket) {}

  /** Bytes (headers included) waiting for this turn's write. */
  get pending(): number {
    return this.#pending
  }

  message(bytes: Uint8Array): void {
    if (bytes.byteLength >= DIRECT_BYTES) return this.#direct(bytes)
    this.#queue(FrameType.message, bytes)
  }

  ping(body: Uint8Array = EMPTY): void {
    this.#queue(FrameType.ping, body)
  }

  pong(body: Uint8Array): void {
    this.#queue(FrameType.pong, body)
  }

  /** The close frame, written at once with everything before it; the caller ends the socket. */
  close(code: number, reason: string): void {
    this.#queue(FrameType.close, closeBody(code, reason))
    this.flush()
  }

  /** Drops what was not written yet (the socket is gone). */
  discard(): void {
    this.#types.length = 0
    this.#bodies.length = 0
    this.#pending = 0
  }

  #queue(type: number, body: Uint8Array): void {
    this.#types.push(type)
    this.#bodies.push(body)
    this.#pending += HEADER_BYTES + body.byteLength
    if (this.#pending >= COALESCE_LIMIT) this.flush()
    else if (!this.#scheduled) {
      this.#scheduled = true
      process.nextTick(flushOnTick, this)
    }
  }

  #direct(bytes: Uint8Array): void {
    const socket = this.socket
    const header = Buffer.allocUnsafe(HEADER_BYTES)
    writeHeader(header, 0, FrameType.message, bytes.byteLength)
    socket.cork()
    this.flush()
    socket.write(header)
    socket.write(bytes)
    socket.uncork()
  }

  /** Writes this turn's frames now, as one buffer. */
  flush(): void {
    const total = this.#pending
    if (total === 0) return
    const types = this.#types
    const bodies = this.#bodies
    const out = Buffer.allocUnsafe(total)
    let at = 0
    for (let i = 0; i < bodies.length; i++) {
      const body = bodies[i]!
      writeHeader(out, at, types[i]!, body.byteLength)
      out.set(body, at + HEADER_BYTES)
      at += HEADER_BYTES + body.byteLength
    }
    types.length = 0
    bodies.length = 0
    this.#pending = 0
    if (!this.socket.destroyed) this.socket.write(out)
  }

  /** @internal the tick callback: a module-level function, no closure per turn. */
  static flushScheduled(sender: FrameSender): void {
    sender.#scheduled = false
    sender.flush()
  }
}

function flushOnTick(sender: FrameSender): void {
  FrameSender.flushScheduled(sender)
}
