/**
 * Exactly-once delivery across a reconnect, without per-frame sequence numbers on the wire: a
 * WebSocket is ordered and lossless until it breaks, so both sides count the frames they send and
 * receive. Each side keeps the **encoded bytes** of what it sent (exactly what went on the wire,
 * from the kernel's post-encode hook) until the peer acknowledges the count it received; on a
 * resume, each tells the other its count and writes again only what the other has not seen.
 *
 * Bounds are in frames and in real bytes (`byteLength` of the encoded message). Issue #10 found
 * the old buffer estimating objects at 64 bytes and releasing acknowledged entries only when it
 * compacted after 1,024 frames: 500 KB echoes held ~190 MiB. Here an acknowledged entry's
 * reference is dropped at once, and the total never exceeds `maxBytes`.
 */

export interface OutboxLimits {
  maxFrames: number
  maxBytes: number
}

/** Release the array's dead head slots once this many accumulate (and they are half of it). */
const COMPACT_AFTER = 64

export class Outbox {
  /** Frames counted as sent so far on this session (the seq of the last one). */
  sent = 0
  /** Frames counted as received so far on this session. */
  received = 0
  /** The `received` value last acknowledged to the peer. */
  ackedToPeer = 0
  /** The peer has acknowledged every frame up to this seq. */
  acked = 0
  /**
   * Frames up to this seq were evicted before the peer acknowledged them (the buffer was over its
   * bound): a resume is exact only if the peer says it received at least this many.
   */
  evictedThrough = 0
  /** Frames evicted unacknowledged so far (for metrics and tests). */
  evicted = 0
  /** Entries from `#head` on are the encoded frames with seqs `sent - size + 1 … sent`; earlier slots are released. */
  #entries: Array<Uint8Array | undefined> = []
  #head = 0
  #bytes = 0

  constructor(readonly limits: OutboxLimits) {}

  /** Frames held. */
  get size(): number {
    return this.#entries.length - this.#head
  }

  /** Encoded bytes held. */
  get bytes(): number {
    return this.#bytes
  }

  /** Whether one more message of `byteLength` bytes fits without evicting anything. */
  fits(byteLength: number): boolean {
    return this.size + 1 <= this.limits.maxFrames && this.#bytes + byteLength <= this.limits.maxBytes
  }

  /**
   * Counts one sent frame and keeps its bytes. Over a bound (the peer is slow to acknowledge),
   * the oldest are evicted — a message larger than `maxBytes` on its own is not kept at all — and
   * `evictedThrough` records that a resume can no longer replay from before them.
   */
  record(bytes: Uint8Array): number {
    const seq = ++this.sent
    this.#entries.push(bytes)
    this.#bytes += bytes.byteLength
    while (this.size > 0 && (this.size > this.limits.maxFrames || this.#bytes > this.limits.maxBytes)) {
      this.evictedThrough = this.#seqAt(this.#head)
      this.evicted++
      this.#dropHead()
    }
    this.#compact()
    return seq
  }

  /** The peer has received every frame up to `seq`: forget them. */
  acknowledge(seq: number): void {
    if (seq > this.sent) seq = this.sent
    if (seq <= this.acked) return
    this.acked = seq
    while (this.size > 0 && this.#seqAt(this.#head) <= seq) this.#dropHead()
    this.#compact()
  }

  /** Can every frame after the peer's count `peerReceived` still be replayed? */
  canReplayAfter(peerReceived: number): boolean {
    if (!Number.isSafeInteger(peerReceived) || peerReceived > this.sent || peerReceived < 0) return false
    // Held: seqs `sent - size + 1 … sent`; the peer needs everything after its count.
    return peerReceived >= this.sent - this.size
  }

  /** Encoded frames the peer has not received (seq > `seq`), in order. */
  after(seq: number): Uint8Array[] {
    const out: Uint8Array[] = []
    const first = this.sent - this.size + 1
    for (let i = Math.max(this.#head, this.#head + (seq + 1 - first)); i < this.#entries.length; i++) out.push(this.#entries[i]!)
    return out
  }

  /** Releases everything held (the counts stay). */
  clear(): void {
    this.#entries = []
    this.#head = 0
    this.#bytes = 0
  }

  #seqAt(index: number): number {
    return this.sent - (this.#entries.length - 1 - index)
  }

  #dropHead(): void {
    this.#bytes -= this.#entries[this.#head]!.byteLength
    this.#entries[this.#head] = undefined
    this.#head++
  }

  #compact(): void {
    if (this.#head === this.#entries.length) {
      this.#entries = []
      this.#head = 0
    } else if (this.#head >= COMPACT_AFTER && this.#head * 2 >= this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head)
      this.#head = 0
    }
  }
}
