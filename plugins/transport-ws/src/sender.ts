/**
 * One binary WebSocket message from parts (the kernel's `Connection.sendParts`: a stream chunk
 * after its envelope), for the Node client, which must mask what it sends (RFC 6455 §5.3).
 *
 * Why not `socket.send(joined)`: ws treats a Buffer it is given as read-only, so it copies the whole
 * message into a new buffer to mask it — after the codec already copied the chunk to join it with
 * its envelope: two 64 KiB allocations and copies per chunk. Here the parts are masked straight
 * into the frame's one buffer (header, then each part at its offset, the mask key rotated to the
 * part's position): one allocation and one pass, as raw ws sending the bare chunk. The mask is
 * bufferutil's, loaded as ws loads it (from next to ws, not when WS_NO_BUFFER_UTIL is set);
 * without it the parts are joined once and ws frames and masks that buffer in place
 * (`Sender.frame` with `readOnly: false`, the public static ws's `send` uses): one allocation, two
 * passes. Measured (plugins/streams/scripts/stream-probe.ts, 64 KiB chunks): the client's CPU per
 * MiB fell from 3.2 ms to 2.4 ms with ws framing the joined buffer, and further with the masked
 * copy (plugins/streams README, "Throughput").
 */
import { randomFillSync } from 'node:crypto'
import { createRequire } from 'node:module'
import * as ws from 'ws'

type MaskFn = (source: Uint8Array, mask: Uint8Array, output: Uint8Array, offset: number, length: number) => void

/** ws's frame options (ws 8; `Sender.frame` is untyped in @types/ws). */
interface FrameOptions {
  readonly fin: boolean
  readonly rsv1: boolean
  readonly opcode: number
  readonly mask: boolean
  readonly readOnly: boolean
}

/** ws's named export `Sender` (untyped in @types/ws). */
const frame = (ws as unknown as { Sender: { frame(data: Buffer, options: FrameOptions): Buffer[] } }).Sender.frame

/** A final binary frame, masked in place (client). One object, never changed, for every message. */
const MASKED: FrameOptions = { fin: true, rsv1: false, opcode: 2, mask: true, readOnly: false }

/** bufferutil's `mask(source, mask, output, offset, length)` where ws would use it; undefined otherwise. */
function loadNativeMask(): MaskFn | undefined {
  if (process.env.WS_NO_BUFFER_UTIL) return undefined
  try {
    const fromWs = createRequire(createRequire(import.meta.url).resolve('ws'))
    const mask = (fromWs('bufferutil') as { mask?: unknown }).mask
    return typeof mask === 'function' ? (mask as MaskFn) : undefined
  } catch {
    return undefined
  }
}

const nativeMask = loadNativeMask()

/** Below this many bytes a part is masked in JavaScript (as ws does: a native call costs more). */
const NATIVE_MASK_BYTES = 48
/** Mask keys come from a pool of random bytes refilled when used up (as ws's own). */
const RANDOM_POOL_BYTES = 8 * 1024
let randomPool: Buffer | undefined
let randomAt = RANDOM_POOL_BYTES
/** The mask key rotated to a part's offset in the payload. */
const rotated = Buffer.alloc(4)

/** `parts` joined (`length` bytes) into a new buffer. */
export function joinParts(parts: readonly Uint8Array[], length: number): Buffer {
  const body = Buffer.allocUnsafe(length)
  let at = 0
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!
    body.set(part, at)
    at += part.length
  }
  return body
}

/**
 * The client's frame of one message made of `parts` (`length` bytes): buffers to write to the
 * socket in order — one (header and masked payload) with bufferutil, else a header and a body.
 */
export function maskedFrame(parts: readonly Uint8Array[], length: number): Buffer[] {
  return nativeMask ? [maskedMessage(parts, length, nativeMask)] : frame(joinParts(parts, length), MASKED)
}

/** Bytes of a client frame's header (RFC 6455 §5.2, with its 4-byte mask key) for a payload of `length` bytes. */
export function maskedHeaderLength(length: number): number {
  return length < 126 ? 6 : length < 0x10000 ? 8 : 14
}

/** The frame of `maskedFrame` written into `out` (at least `maskedHeaderLength(length) + length` bytes; native mask only): a view of it. */
export function maskedFrameInto(parts: readonly Uint8Array[], length: number, out: Buffer): Buffer | undefined {
  return nativeMask ? maskedMessage(parts, length, nativeMask, out) : undefined
}

/** A final binary frame (RFC 6455 §5.2) with a fresh random mask key, the parts masked into it. Exported for tests. */
export function maskedMessage(parts: readonly Uint8Array[], length: number, mask: MaskFn, into?: Buffer): Buffer {
  const offset = maskedHeaderLength(length)
  const out = into === undefined ? Buffer.allocUnsafe(offset + length) : into.subarray(0, offset + length)
  out[0] = 0x82 // FIN, binary
  if (length < 126) out[1] = 0x80 | length
  else if (length < 0x10000) {
    out[1] = 0x80 | 126
    out[2] = length >>> 8
    out[3] = length & 0xff
  } else {
    out[1] = 0x80 | 127
    out[2] = 0
    out[3] = 0
    out.writeUIntBE(length, 4, 6)
  }
  if (randomAt === RANDOM_POOL_BYTES) {
    randomFillSync((randomPool ??= Buffer.alloc(RANDOM_POOL_BYTES)))
    randomAt = 0
  }
  const key = offset - 4
  for (let i = 0; i < 4; i++) out[key + i] = randomPool![randomAt++]!
  let at = 0
  for (let p = 0; p < parts.length; p++) {
    const part = parts[p]!
    const n = part.length
    for (let r = 0; r < 4; r++) rotated[r] = out[key + ((at + r) & 3)]!
    if (n < NATIVE_MASK_BYTES) for (let i = 0; i < n; i++) out[offset + at + i] = part[i]! ^ rotated[i & 3]!
    else mask(part, rotated, out, offset + at, n)
    at += n
  }
  return out
}
