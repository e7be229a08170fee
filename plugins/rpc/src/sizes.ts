/**
 * Stream credit is charged by the byte length of the encoded message that carried each item (wire
 * contract 7): the sender takes it from `session.send`'s return value, the receiver from the
 * route's `size`. A kernel that reports neither (older than wire v2) gets the frame re-encoded.
 */
import type { Frame } from '@echostream/kernel'

/** Re-encodes a frame to learn its size (only for kernels that do not report it). */
export type EncodedSize = (frame: Frame) => number

/** What `send` returned, when it is the encoded length (0: an outbound tap dropped it); else the frame's re-encoded size. */
export function sentBytes(returned: unknown, frame: Frame, encodedSize: EncodedSize): number {
  return typeof returned === 'number' ? returned : encodedSize(frame)
}

/** The `size` the kernel passed to the route, when it did; else the frame's re-encoded size. */
export function receivedBytes(size: number | undefined, frame: Frame, encodedSize: EncodedSize): number {
  return typeof size === 'number' && size > 0 ? size : encodedSize(frame)
}
