/**
 * What a browser bundle gets for outbound-parts.ts (the package's `browser` field maps it here): a
 * page's WebSocket takes no parts, so a frame with a binary tail is encoded whole — the same bytes.
 */
import type { Frame } from './frame.js'
import type { Outbound } from './outbound.js'
import type { SessionImpl } from './session.js'
import type { Codec } from './transport.js'

export function sendInParts(_out: Outbound, _codec: Codec | undefined, _session: SessionImpl, _frame: Frame, _volatile: boolean): number | undefined {
  return undefined
}
