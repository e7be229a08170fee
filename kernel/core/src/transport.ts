/**
 * The small interfaces behind which the transport and codec plugins put their libraries
 * (ws, msgpackr). The kernel talks only to these.
 */
import type { EchoError } from './errors.js'
import type { Frame } from './frame.js'

/** One live, message-oriented link to a peer, as a transport hands it to the kernel. */
export interface Connection {
  /** The peer's address, `host:port`. */
  readonly peer: string
  /** Bytes accepted for writing but not yet on the wire (the socket's bufferedAmount). */
  readonly bufferedAmount: number
  /** Above this many buffered bytes the connection counts as congested (see `whenWritable`). */
  readonly highWaterMark: number
  /** Resolves once `bufferedAmount` is below `highWaterMark` (at once if it already is). */
  whenWritable(): Promise<void>
  /** Sends one encoded frame; the transport may coalesce writes made in one event-loop turn. */
  send(bytes: Uint8Array): void
  /**
   * Optional: sends ONE message whose bytes are `parts` joined (`length` bytes in all) — exactly
   * what `send` of the joined bytes would send. A transport that copies every message it writes
   * anyway (ws masking a client's frame) joins the parts in that copy, which saves a large
   * binary's extra allocation and copy. The parts may alias the sender's memory and the codec's
   * scratch: read them during the call only. Absent: the kernel joins them and calls `send`.
   */
  sendParts?(parts: readonly Uint8Array[], length: number): void
  /** Closes with a WebSocket close code and a short reason (≤ 123 bytes). */
  close(code: number, reason: string): void
  /**
   * Set by the kernel: one inbound message, and when it arrived (`monotonicMicros()`, stamped by the
   * transport before anything decodes it: clock sync's receive time). Call it as a method of the
   * connection (`connection.onMessage(…)`): the kernel's handler is shared by every connection and
   * finds the session through `this`.
   */
  onMessage: (bytes: Uint8Array, arrivedAt: number) => void
  /** Set by the kernel: the link is gone (clean close, terminate, or liveness failure). Call it as a method, like `onMessage`. */
  onClose: (code: number, reason: string) => void
  /**
   * Client: the server announced its ping schedule (`welcome.limits`); expect a ping at least every
   * `pingIntervalMs + pingTimeoutMs` from now on, instead of the transport's own guess.
   */
  expectPings?(pingIntervalMs: number, pingTimeoutMs: number): void
}

/** What a transport enforces, announced to the peer in the handshake. */
export interface TransportLimits {
  /** Largest inbound message accepted, in bytes (a larger one closes the connection). */
  maxPayload: number
  /** Server: how often it pings each connection (0 or absent: it does not ping). */
  pingIntervalMs?: number
  /** Server: how late a pong may be before the connection is closed. */
  pingTimeoutMs?: number
}

export interface Transport {
  readonly name: string
  /** Server role: start listening; returns the URL clients can use (with the bound port). */
  listen(onConnection: (connection: Connection) => void): Promise<string>
  /** Server role: stop accepting and close every connection. */
  close(): Promise<void>
  /** Client role: open a connection to `url`. */
  connect(url: string): Promise<Connection>
  /** What this transport enforces; absent: no inbound size limit, no pings. */
  limits?(): TransportLimits
}

export type DecodeResult = { ok: true; frame: Frame } | { ok: false; error: EchoError }

export interface Codec {
  readonly name: string
  encode(frame: Frame): Uint8Array
  /**
   * Optional: the frame encoded as parts whose concatenation is exactly `encode(frame)`, for a
   * frame whose payload ends with a large binary (a stream chunk) that can stay out of the message
   * buffer; undefined when the frame has none (the kernel then calls `encode`). The parts may alias
   * the frame's binary and the codec's scratch: valid until the codec's next call.
   */
  encodeParts?(frame: Frame): readonly Uint8Array[] | undefined
  /** Never throws: untrusted bytes become an error result. */
  decode(bytes: Uint8Array): DecodeResult
}
