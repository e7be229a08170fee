/**
 * A frame is the unit that crosses the wire: a kind namespaced by its plugin (`rpc.req`), an id
 * where it pairs with another frame, a name (method, event, stream), a payload and optional
 * metadata. The codec owns the bytes; see PROTOCOL.md for the encoding.
 */
export interface Frame<P = unknown> {
  kind: string
  id?: number
  name?: string
  payload?: P
  meta?: Record<string, unknown>
}

/** Frame kinds the kernel itself owns. Plugins prefix theirs with their name (`rpc.req`). */
export const KernelFrames = {
  /** client → server, first frame: protocol version, codec, wire plugins, credentials. */
  hello: 'hello',
  /** server → client: the handshake succeeded; carries the session id. */
  welcome: 'welcome',
  /** either way: a protocol-level error; `id` echoes the offending frame's id when it had one. */
  error: 'error',
} as const

/** The wire protocol version this kernel speaks (PROTOCOL.md). Bumped only on breaking changes. */
export const PROTOCOL_VERSION = 2

/** WebSocket close codes the kernel uses (4000–4999 is the application range). */
export const CloseCodes = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  invalidData: 1007,
  tooLarge: 1009,
  internalError: 1011,
  /** The peer broke the echostream protocol. */
  protocol: 4000,
  /** Handshake refused: versions, codec or plugins are incompatible. */
  incompatible: 4001,
  /** No handshake within the deadline. */
  handshakeTimeout: 4002,
  /** Authentication refused. */
  unauthorized: 4003,
  /** The peer stopped answering pings. */
  pingTimeout: 4008,
  /** Slow consumer: the session's outbound budget was exceeded (reconnect may resume it). */
  slowConsumer: 4009,
} as const

/** What the client announces in `hello.limits`. */
export interface HelloLimits {
  /** The largest message (encoded bytes) the client accepts. */
  maxPayload: number
}

/** What the server announces in `welcome.limits`. */
export interface WelcomeLimits {
  /** The largest message (encoded bytes) the server accepts. */
  maxPayload: number
  /** The server pings every connection this often (0: it does not ping). */
  pingIntervalMs: number
  /** …and closes one whose pong is this late. A client expects a ping within the sum of the two. */
  pingTimeoutMs: number
}

/** Payload of `hello`. */
export interface HelloPayload {
  protocol: number
  codec: string
  /** Plugins that change the wire, by name → wire version. */
  plugins: Record<string, number>
  limits: HelloLimits
  /** Free-form fields other plugins add (credentials, resume token…). */
  [extra: string]: unknown
}

/** Payload of `welcome`. */
export interface WelcomePayload {
  sessionId: string
  protocol: number
  plugins: Record<string, number>
  limits: WelcomeLimits
  [extra: string]: unknown
}

export function isFrame(value: unknown): value is Frame {
  return typeof value === 'object' && value !== null && typeof (value as Frame).kind === 'string'
}
