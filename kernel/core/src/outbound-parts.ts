/**
 * A frame sent in parts (`SendOptions.binaryTail`): the codec encodes a frame that ends with a large
 * binary as its envelope and the binary apart, and a transport that takes parts (`sendParts`)
 * writes them without joining them first. Outbound.send calls this only where the transport takes
 * parts and no `sent` tap needs the message's bytes; `undefined` means "not in parts" (no such
 * binary, or a codec without `encodeParts`), and the frame is encoded whole.
 *
 * Apart from outbound.ts so that the browser build, whose WebSocket takes no parts, leaves it out:
 * the package's `browser` field maps it to outbound-parts.browser.ts (always `undefined`: the same
 * bytes go out, encoded whole).
 */
import { EchoError, ErrorCodes, messageOf } from './errors.js'
import { kernelErrors } from './kernel-errors.js'
import type { Frame } from './frame.js'
import { DROPPED, kindOf, type Outbound } from './outbound.js'
import type { SessionImpl } from './session.js'
import type { Codec } from './transport.js'

/** Sends `frame` to `session` in parts; returns the bytes sent (0: a volatile frame dropped), or undefined when it has no parts. */
export function sendInParts(out: Outbound, codec: Codec | undefined, session: SessionImpl, frame: Frame, volatile: boolean): number | undefined {
  if (codec?.encodeParts === undefined) return undefined
  let parts: readonly Uint8Array[] | undefined
  try {
    parts = codec.encodeParts(frame)
  } catch (error) {
    if (EchoError.is(error) && error.code === ErrorCodes.E_CODEC) throw error
    throw new EchoError(ErrorCodes.E_CODEC, kernelErrors.unencodable(kindOf(frame), messageOf(error)).message, { cause: error })
  }
  if (parts === undefined) return undefined
  out.stats.encodes++
  // The checks `deliver` makes, on the parts' total size; then `sendParts`.
  let size = 0
  for (let i = 0; i < parts.length; i++) size += parts[i]!.length
  const over = out.admit(session, size, frame, volatile)
  if (over === DROPPED) return 0
  if (over > 0) out.closeSlow(session, over)
  else if (session.state !== 'suspended') session.connection.sendParts!(parts, size)
  return size
}
