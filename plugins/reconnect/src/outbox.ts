/**
 * Exactly-once delivery across a reconnect, without per-frame sequence numbers on the wire: a
 * WebSocket is ordered and lossless until it breaks, so both sides count the frames they send and
 * receive. Each side keeps what it sent until the peer acknowledges the count it received; on a
 * resume, each tells the other its count and replays only what the other has not seen.
 */
import type { Frame } from '@echostream/kernel'

export interface OutboxLimits {
  maxFrames: number
  maxBytes: number
}

interface Entry {
  seq: number
  frame: Frame
  bytes: number
}

/** Rough size of a frame for the byte bound: binary payloads exactly, anything else estimated. */
export function frameSize(frame: Frame): number {
  const p = frame.payload
  if (p instanceof Uint8Array) return p.byteLength + 16
  if (typeof p === 'string') return p.length + 16
  if (p === undefined || p === null) return 16
  if (Array.isArray(p)) {
    let size = 16
    for (const item of p) size += item instanceof Uint8Array ? item.byteLength : 8
    return size
  }
  return 64
}

export class Outbox {
  /** Frames counted as sent so far on this session. */
  sent = 0
  /** Frames counted as received so far on this session. */
  received = 0
  /** The `received` value last acknowledged to the peer. */
  ackedToPeer = 0
  /** True once unacknowledged frames had to be dropped: a resume can no longer be exact. */
  broken = false
  #entries: Entry[] = []
  #head = 0
  #bytes = 0

  constructor(readonly limits: OutboxLimits) {}

  get size(): number {
    return this.#entries.length - this.#head
  }

  get bytes(): number {
    return this.#bytes
  }

  /** Whether one more frame of `bytes` fits. */
  fits(bytes: number): boolean {
    return this.size + 1 <= this.limits.maxFrames && this.#bytes + bytes <= this.limits.maxBytes
  }

  record(frame: Frame): number {
    const bytes = frameSize(frame)
    const seq = ++this.sent
    this.#entries.push({ seq, frame, bytes })
    this.#bytes += bytes
    // Over the bound while connected (the peer is slow to acknowledge): drop the oldest, and remember
    // that a resume can no longer replay everything.
    while (this.size > this.limits.maxFrames || (this.#bytes > this.limits.maxBytes && this.size > 1)) {
      this.#bytes -= this.#entries[this.#head]!.bytes
      this.#head++
      this.broken = true
    }
    this.#compact()
    return seq
  }

  /** The peer has received every frame up to `seq`. */
  acknowledge(seq: number): void {
    while (this.#head < this.#entries.length && this.#entries[this.#head]!.seq <= seq) {
      this.#bytes -= this.#entries[this.#head]!.bytes
      this.#head++
    }
    this.#compact()
  }

  /** Can every frame after the peer's count `peerReceived` still be replayed? */
  canReplayAfter(peerReceived: number): boolean {
    if (peerReceived > this.sent || peerReceived < 0) return false
    const oldest = this.#head < this.#entries.length ? this.#entries[this.#head]!.seq : this.sent + 1
    return oldest <= peerReceived + 1
  }

  /** Frames the peer has not received, in order. */
  after(seq: number): Frame[] {
    const out: Frame[] = []
    for (let i = this.#head; i < this.#entries.length; i++) if (this.#entries[i]!.seq > seq) out.push(this.#entries[i]!.frame)
    return out
  }

  #compact(): void {
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head)
      this.#head = 0
    }
  }
}
