/**
 * The TCP framing (kernel/PROTOCOL.md, "TCP transport"): an 8-byte preamble each way, then frames
 * of `[type: u8][length: u32 big-endian][body: length bytes]`. TCP has no message boundaries and
 * no control frames, so both are defined here; the codes mirror WebSocket's so the kernel sees the
 * same close codes whatever the transport.
 */

/** "ECHOTCP" + the framing version: the first 8 bytes each side sends. */
export const FRAMING_VERSION = 1
export const PREAMBLE = Uint8Array.of(0x45, 0x43, 0x48, 0x4f, 0x54, 0x43, 0x50, FRAMING_VERSION)
export const PREAMBLE_BYTES = PREAMBLE.byteLength
/** The magic part of the preamble (without the version byte). */
export const MAGIC_BYTES = PREAMBLE_BYTES - 1

/** type (1) + length (4). */
export const HEADER_BYTES = 5

export const FrameType = {
  /** One encoded echostream frame (the codec's bytes); 0 … maxPayload bytes. */
  message: 0x01,
  /** Liveness probe: the peer answers `pong` with the same body (≤ 125 bytes). */
  ping: 0x02,
  pong: 0x03,
  /** Close: u16 code + UTF-8 reason (≤ 123 bytes); then the sender half-closes the socket. */
  close: 0x04,
} as const

/** The largest body of a control frame (ping, pong, close), as in WebSocket. */
export const MAX_CONTROL_BODY = 125
/** The largest close reason, in UTF-8 bytes (the code takes 2 of the 125). */
export const MAX_CLOSE_REASON = 123

/** Close codes the transport itself produces (the kernel's CloseCodes has the same numbers). */
export const TransportCloseCodes = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  /** Never sent: observed when the socket ended without a close frame. */
  abnormal: 1006,
  invalidData: 1007,
  tooLarge: 1009,
  pingTimeout: 4008,
} as const

/** A close code a peer may put in a close frame (RFC 6455 §7.4: 1000–1014 but 1004–1006, and 3000–4999). */
export function isValidCloseCode(code: number): boolean {
  if (code >= 3000 && code <= 4999) return true
  return code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006
}
