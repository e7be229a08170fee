/**
 * Frame buffers for a Node client's large messages (stream chunks), reused once the socket has
 * flushed them, instead of a fresh 64 KiB buffer per chunk.
 *
 * Why: a fresh buffer per chunk is memory outside the JS heap that V8 frees only when it collects
 * the Buffer object: its external-memory accounting starts garbage collections (mark-compacts
 * when the buffers were promoted while they waited in the socket's queue), and the allocator hands
 * back memory the kernel must fault in again. Measured with plugins/streams/scripts/stream-probe.ts
 * (64 KiB chunks): see plugins/streams README "Throughput".
 *
 * A buffer goes back to the pool from the socket write's callback: Node calls it once the bytes
 * were handed to the kernel (or the write failed and the socket is gone), so nothing reads it
 * afterwards. The pool is one per process, shared by every client connection, holds at most
 * FREE_BYTES and empties itself after IDLE_MS without use: an idle client keeps nothing.
 */

/** Messages whose frame is at least this large are written from a pooled buffer. */
export const POOLED_BYTES = 16 * 1024
/** ... and at most this large (a larger one is rare: allocated as before). */
const MAX_POOLED_BYTES = 1 << 21
/** A new buffer's capacity: the frame rounded up to this, so a chunk whose envelope grows by a few bytes still fits. */
const ROUND = 1024
/** The free buffers' total capacity at most (16 chunks of 64 KiB: a 1 MiB high-water mark's worth). */
const FREE_BYTES = 1 << 20
/** The free buffers are dropped after this long without a `take`. */
const IDLE_MS = 1000

const free: Buffer[] = []
let freeBytes = 0
let takes = 0
let sweeper: ReturnType<typeof setTimeout> | undefined
let takesAtSweep = 0

function sweep(): void {
  sweeper = undefined
  if (takes === takesAtSweep) {
    free.length = 0
    freeBytes = 0
    return
  }
  takesAtSweep = takes
  armSweep()
}

function armSweep(): void {
  if (sweeper !== undefined || free.length === 0) return
  takesAtSweep = takes
  sweeper = setTimeout(sweep, IDLE_MS)
  sweeper.unref?.()
}

/** A buffer of at least `size` bytes (a pooled one when one fits, else a new one), or undefined when `size` is not pooled. */
export function takeFrameBuffer(size: number): Buffer | undefined {
  if (size < POOLED_BYTES || size > MAX_POOLED_BYTES) return undefined
  takes++
  for (let i = free.length - 1; i >= 0; i--) {
    const buffer = free[i]!
    // A fit, and not more than twice the size: a big buffer is not held for a small message.
    if (buffer.length >= size && buffer.length <= 2 * size) {
      free[i] = free[free.length - 1]!
      free.pop()
      freeBytes -= buffer.length
      return buffer
    }
  }
  return Buffer.allocUnsafeSlow((size + ROUND - 1) & -ROUND)
}

/** Gives back a buffer from `takeFrameBuffer` whose bytes the socket no longer needs. */
export function giveFrameBuffer(buffer: Buffer): void {
  if (freeBytes + buffer.length > FREE_BYTES) return
  free.push(buffer)
  freeBytes += buffer.length
  armSweep()
}

/** For tests: drops the free buffers. */
export function clearFramePool(): void {
  clearTimeout(sweeper)
  sweeper = undefined
  free.length = 0
  freeBytes = 0
}

/** For tests: the pool's free buffers and their bytes. */
export function framePoolStats(): { buffers: number; bytes: number } {
  return { buffers: free.length, bytes: freeBytes }
}
