/**
 * What the transport conformance suite needs from each transport under test: the plugin, its URL
 * schemes, and RAW peers — a client and a server that speak the transport's own framing (a ws
 * socket; a TCP socket with the length-prefixed frames of PROTOCOL.md, written independently of
 * the plugin) but no echostream kernel, so a test can do what a real peer never would: stop
 * reading, stop answering pings, send an oversize message, vanish.
 *
 * One adapter per transport: transport-ws.ts, transport-tcp.ts.
 */
import { pack, unpack } from 'msgpackr'
import { PROTOCOL_VERSION, type PluginDefinition } from '@echostream/kernel'
import { until } from './fixtures.js'

export interface CloseSeen {
  code: number
  reason: string
}

/** One raw link (either end): bytes in, bytes out, transport-level controls. */
export interface RawLink {
  /** Every message received, in order (raw bytes). */
  readonly messages: Uint8Array[]
  /** Transport pings received so far. */
  readonly pings: number
  /** Set once the link closed: the close code and reason this end saw (1006 when no close frame came). */
  readonly closeInfo: CloseSeen | undefined
  readonly closed: Promise<CloseSeen>
  /** Sends one message. */
  send(bytes: Uint8Array): void
  /** Stops reading the socket (nothing is read: no messages, no pings answered) / starts again. */
  pause(): void
  resume(): void
  /** Keeps reading but stops answering pings (a peer whose event loop is stuck answers none). */
  ignorePings(): void
  /** Closes with a close frame carrying `code` and `reason`. */
  close(code: number, reason: string): void
  /** Ends the socket at once, with no close frame (a crashed peer). */
  destroy(): void
}

export interface RawServer {
  url: string
  /** The next link a client opens (resolves at once for one already open and not yet taken). */
  accept(): Promise<RawLink>
  close(): Promise<void>
}

export interface TransportUnderTest {
  /** 'ws' or 'tcp': the label of the describe block. */
  name: string
  plugin: PluginDefinition
  /** Its options key in a config (`transport-ws`). */
  key: string
  scheme: string
  secureScheme: string
  rawClient(url: string): Promise<RawLink>
  rawServer(): Promise<RawServer>
}

/** A decoded frame as it travels: `[kind, id, name, payload, meta]`. */
export type WireFrame = [string, number | null, string | null, unknown?, Record<string, unknown>?]

export function encodeFrame(frame: unknown[]): Uint8Array {
  return pack(frame)
}

/** Decodes a message as a frame, or undefined for bytes that are not one. */
export function decodeFrame(bytes: Uint8Array): WireFrame | undefined {
  try {
    const value = unpack(bytes)
    return Array.isArray(value) ? (value as WireFrame) : undefined
  } catch {
    return undefined
  }
}

export function helloFrame(extra: Record<string, unknown> = {}): Uint8Array {
  return encodeFrame(['hello', null, null, { protocol: PROTOCOL_VERSION, codec: 'msgpack', plugins: {}, limits: { maxPayload: 1 << 20 }, ...extra }])
}

/** Resolves with the first frame of `kind` received on `link` after message index `from`. */
export async function frameOf(link: RawLink, kind: string, from = 0, timeoutMs = 5000): Promise<WireFrame> {
  const find = () => link.messages.slice(from).map(decodeFrame).find((f) => f?.[0] === kind)
  await until(() => find() !== undefined || link.closeInfo !== undefined, timeoutMs, `a '${kind}' frame`)
  const found = find()
  if (!found) throw new Error(`the link closed (${JSON.stringify(link.closeInfo)}) before a '${kind}' frame arrived`)
  return found
}

/** Sends a valid hello and resolves with the server's answer (welcome or error). */
export async function hello(link: RawLink, extra: Record<string, unknown> = {}): Promise<WireFrame> {
  const from = link.messages.length
  link.send(helloFrame(extra))
  await until(() => link.messages.length > from || link.closeInfo !== undefined, 5000, 'an answer to hello')
  const answer = link.messages[from] && decodeFrame(link.messages[from]!)
  if (!answer) throw new Error(`no frame answered hello (closed: ${JSON.stringify(link.closeInfo)})`)
  return answer
}

/** The close `link` saw, failing after `timeoutMs` instead of hanging the test. */
export function closedWithin(link: RawLink, timeoutMs = 5000): Promise<CloseSeen> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`the link did not close within ${timeoutMs} ms`)), timeoutMs)))
  return Promise.race([link.closed, late]).finally(() => clearTimeout(timer))
}

/** Small shared state for raw links: records messages and the close once. */
export class LinkRecord {
  messages: Uint8Array[] = []
  pings = 0
  closeInfo: CloseSeen | undefined
  closed: Promise<CloseSeen>
  #resolve!: (info: CloseSeen) => void

  constructor() {
    this.closed = new Promise((resolve) => (this.#resolve = resolve))
  }

  closedWith(code: number, reason: string): void {
    if (this.closeInfo) return
    this.closeInfo = { code, reason }
    this.#resolve(this.closeInfo)
  }
}
