/**
 * The fake messaging platform's wire protocol: newline-delimited JSON over TCP on loopback, one
 * object per line, at most MAX_LINE characters a line. It is deliberately not echostream: the connector
 * is the adapter between a platform's own protocol and the agent runtime, as it would be for a
 * real chat service.
 *
 * user → platform   hello {user} · join {conversation} · send {conversation, text, ref?} · ping {ref}
 * bot  → platform   hello {bot: true, token} · reply.start {conversation, id, replyTo}
 *                   · reply.delta {id, seq, text} · reply.end {id, reason, error?} · post {conversation, text} · ping {ref}
 * platform → peer   welcome {user} · error {code, message, ref?} · pong {ref}
 *                   · sent {ref, id, ts} (to the sender) · message {conversation, id, user, text, ts}
 *                   · reply.start {conversation, id, replyTo} · reply.delta {conversation, id, seq, text}
 *                   · reply.end {conversation, id, reason, error?} · post {conversation, user, text}
 * A reply is delivered to the conversation's members token by token as the bot sends it, like a
 * streamed message that grows in place.
 */

export const MAX_LINE = 64 * 1024

export type Json = Record<string, unknown>

export interface UserMessage {
  type: 'message'
  conversation: string
  id: string
  user: string
  text: string
  ts: number
}

/**
 * Splits a byte stream into lines, refusing a line longer than `maxLine` (a peer that never sends
 * a newline must not grow our memory): the callback gets `undefined` for the over-long line and the
 * caller decides (the platform answers an error and closes).
 */
export class LineSplitter {
  private buffered: string[] = []
  private size = 0
  constructor(
    private readonly onLine: (line: string | undefined) => void,
    private readonly maxLine = MAX_LINE,
  ) {}

  push(chunk: string): void {
    let start = 0
    let nl: number
    while ((nl = chunk.indexOf('\n', start)) >= 0) {
      const piece = chunk.slice(start, nl)
      start = nl + 1
      if (this.size + piece.length > this.maxLine) {
        this.reset()
        this.onLine(undefined)
        continue
      }
      const line = this.buffered.length ? this.buffered.join('') + piece : piece
      this.reset()
      this.onLine(line)
    }
    const rest = chunk.slice(start)
    if (!rest) return
    this.size += rest.length
    if (this.size > this.maxLine) {
      this.reset()
      this.onLine(undefined)
      return
    }
    this.buffered.push(rest)
  }

  private reset(): void {
    this.buffered = []
    this.size = 0
  }
}

/** Parses one line into an object with a string `type`, or says why not. */
export function parseLine(line: string): { ok: true; value: Json & { type: string } } | { ok: false; reason: string } {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return { ok: false, reason: 'not JSON' }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, reason: 'not a JSON object' }
  if (typeof (value as Json).type !== 'string') return { ok: false, reason: 'no string "type"' }
  return { ok: true, value: value as Json & { type: string } }
}

export function encode(message: Json): string {
  return `${JSON.stringify(message)}\n`
}

/** `tcp://host:port` → its parts; throws a plain Error naming the URL otherwise. */
export function parseTcpUrl(url: string): { host: string; port: number } {
  const match = /^tcp:\/\/([^:/]+):(\d{1,5})\/?$/.exec(url)
  if (!match) throw new Error(`'${url}' is not a tcp://HOST:PORT address`)
  return { host: match[1]!, port: Number(match[2]) }
}
