/**
 * The fake messaging platform: a TCP server on loopback speaking newline-delimited JSON (see
 * protocol.ts). Users join conversations and send messages; one bot (the daemon's connector,
 * authenticated by a token) receives every message and streams replies back, which the platform
 * fans out to the conversation's members. Messages that arrive while no bot is connected wait in a
 * bounded backlog, as a real platform keeps updates for a bot that was away.
 *
 * Every line is untrusted: bad JSON, unknown types or wrong fields get an `error` line; a line over
 * MAX_LINE closes the connection. State is bounded (connections, conversations, backlog, replies).
 */
import { createServer, type Server, type Socket } from 'node:net'
import { encode, LineSplitter, parseLine, type Json } from './protocol.js'

export interface PlatformOptions {
  host?: string
  port?: number
  /** The token the bot must present. */
  botToken: string
  /** Most messages kept for an absent bot (oldest dropped). */
  backlog?: number
  maxConnections?: number
  maxConversations?: number
}

interface Peer {
  socket: Socket
  user?: string
  bot?: boolean
  conversations: Set<string>
}

interface ActiveReply {
  conversation: string
  nextSeq: number
}

const MAX_TEXT = 16 * 1024
const MAX_NAME = 128
const MAX_ACTIVE_REPLIES = 10_000
/** Bytes written to a peer and not yet taken by its socket, before it counts as not reading. */
const MAX_UNREAD = 4 * 1024 * 1024

const isName = (value: unknown): value is string => typeof value === 'string' && value.length > 0 && value.length <= MAX_NAME
const isText = (value: unknown): value is string => typeof value === 'string' && value.length <= MAX_TEXT

export interface Platform {
  url: string
  port: number
  close(): Promise<void>
}

export async function startPlatform(options: PlatformOptions): Promise<Platform> {
  const backlogLimit = options.backlog ?? 1000
  const members = new Map<string, Set<Peer>>()
  const backlog: Json[] = []
  const replies = new Map<string, ActiveReply>()
  let bot: Peer | undefined
  let nextId = 0
  const peers = new Set<Peer>()

  const send = (peer: Peer, message: Json) => {
    if (peer.socket.destroyed) return
    // A peer that does not read its replies must not grow our memory: over the limit it is cut off.
    if (peer.socket.writableLength > MAX_UNREAD) return void peer.socket.destroy()
    peer.socket.write(encode(message))
  }
  const fail = (peer: Peer, code: string, message: string, ref?: unknown) => send(peer, { type: 'error', code, message, ...(ref !== undefined ? { ref } : {}) })
  const toConversation = (conversation: string, message: Json) => {
    for (const member of members.get(conversation) ?? []) send(member, message)
  }
  const join = (peer: Peer, conversation: string): boolean => {
    let set = members.get(conversation)
    if (!set) {
      if (members.size >= (options.maxConversations ?? 10_000)) return false
      set = new Set()
      members.set(conversation, set)
    }
    set.add(peer)
    peer.conversations.add(conversation)
    return true
  }
  const toBot = (message: Json) => {
    if (bot) return send(bot, message)
    backlog.push(message)
    if (backlog.length > backlogLimit) backlog.shift()
  }

  function onUserLine(peer: Peer, msg: Json & { type: string }) {
    switch (msg.type) {
      case 'join':
        if (!isName(msg.conversation)) return fail(peer, 'E_BAD_REQUEST', 'join needs "conversation": a string of 1-128 characters')
        if (!join(peer, msg.conversation)) return fail(peer, 'E_LIMIT', 'too many conversations on this platform')
        return send(peer, { type: 'joined', conversation: msg.conversation })
      case 'send': {
        if (!isName(msg.conversation) || !isText(msg.text)) return fail(peer, 'E_BAD_REQUEST', 'send needs "conversation" (1-128 characters) and "text" (at most 16 KiB)', msg.ref)
        if (!join(peer, msg.conversation)) return fail(peer, 'E_LIMIT', 'too many conversations on this platform', msg.ref)
        const message = { type: 'message', conversation: msg.conversation, id: `m${++nextId}`, user: peer.user!, text: msg.text, ts: Date.now() }
        send(peer, { type: 'sent', ref: msg.ref ?? null, id: message.id, ts: message.ts })
        for (const member of members.get(msg.conversation)!) if (member !== peer) send(member, message)
        return toBot(message)
      }
      default:
        return fail(peer, 'E_BAD_REQUEST', `unknown type '${msg.type.slice(0, 64)}' for a user`, msg.ref)
    }
  }

  function onBotLine(peer: Peer, msg: Json & { type: string }) {
    switch (msg.type) {
      case 'reply.start': {
        if (!isName(msg.conversation) || !isName(msg.id) || !isName(msg.replyTo)) return fail(peer, 'E_BAD_REQUEST', 'reply.start needs "conversation", "id" and "replyTo" (1-128 characters each)')
        if (replies.has(msg.id)) return fail(peer, 'E_BAD_REQUEST', `reply '${msg.id}' is already open`)
        if (replies.size >= MAX_ACTIVE_REPLIES) return fail(peer, 'E_LIMIT', 'too many open replies: end some')
        replies.set(msg.id, { conversation: msg.conversation, nextSeq: 0 })
        return toConversation(msg.conversation, { type: 'reply.start', conversation: msg.conversation, id: msg.id, replyTo: msg.replyTo })
      }
      case 'reply.delta': {
        const reply = typeof msg.id === 'string' ? replies.get(msg.id) : undefined
        if (!reply) return fail(peer, 'E_BAD_REQUEST', 'reply.delta for a reply that is not open')
        if (msg.seq !== reply.nextSeq || !isText(msg.text)) return fail(peer, 'E_BAD_REQUEST', `reply.delta needs "seq" ${reply.nextSeq} and a "text"`)
        reply.nextSeq++
        return toConversation(reply.conversation, { type: 'reply.delta', conversation: reply.conversation, id: msg.id, seq: msg.seq, text: msg.text })
      }
      case 'reply.end': {
        const reply = typeof msg.id === 'string' ? replies.get(msg.id) : undefined
        if (!reply) return fail(peer, 'E_BAD_REQUEST', 'reply.end for a reply that is not open')
        replies.delete(msg.id as string)
        const reason = typeof msg.reason === 'string' ? msg.reason.slice(0, 64) : 'stop'
        const error = isText(msg.error) ? msg.error : undefined
        return toConversation(reply.conversation, { type: 'reply.end', conversation: reply.conversation, id: msg.id, reason, deltas: reply.nextSeq, ...(error ? { error } : {}) })
      }
      case 'post':
        if (!isName(msg.conversation) || !isText(msg.text)) return fail(peer, 'E_BAD_REQUEST', 'post needs "conversation" and "text"')
        return toConversation(msg.conversation, { type: 'post', conversation: msg.conversation, user: 'bot', text: msg.text })
      default:
        return fail(peer, 'E_BAD_REQUEST', `unknown type '${msg.type.slice(0, 64)}' for a bot`)
    }
  }

  function onLine(peer: Peer, line: string | undefined) {
    if (line === undefined) {
      fail(peer, 'E_TOO_LARGE', 'line over 64 KiB: closing')
      peer.socket.end()
      return
    }
    if (line.trim() === '') return
    const parsed = parseLine(line)
    if (!parsed.ok) return fail(peer, 'E_BAD_REQUEST', `bad line: ${parsed.reason}`)
    const msg = parsed.value
    if (msg.type === 'ping') return send(peer, { type: 'pong', ref: msg.ref ?? null })
    if (msg.type === 'hello') {
      if (peer.user) return fail(peer, 'E_BAD_REQUEST', 'hello was already sent')
      if (msg.bot === true) {
        if (msg.token !== options.botToken) {
          fail(peer, 'E_UNAUTHORIZED', 'wrong bot token')
          return void peer.socket.end()
        }
        if (bot) bot.socket.destroy() // the newest bot connection wins (a restarted daemon)
        peer.user = 'bot'
        peer.bot = true
        bot = peer
        send(peer, { type: 'welcome', user: 'bot', backlog: backlog.length })
        for (const message of backlog.splice(0)) send(peer, message)
        return
      }
      if (!isName(msg.user) || msg.user === 'bot') return fail(peer, 'E_BAD_REQUEST', 'hello needs "user": a name of 1-128 characters (not "bot")')
      peer.user = msg.user
      return send(peer, { type: 'welcome', user: msg.user })
    }
    if (!peer.user) return fail(peer, 'E_UNAUTHORIZED', 'send hello first')
    if (peer.bot) onBotLine(peer, msg)
    else onUserLine(peer, msg)
  }

  const server: Server = createServer((socket) => {
    if (peers.size >= (options.maxConnections ?? 1000)) return void socket.destroy()
    socket.setEncoding('utf8')
    socket.setNoDelay(true)
    const peer: Peer = { socket, conversations: new Set() }
    peers.add(peer)
    const lines = new LineSplitter((line) => onLine(peer, line))
    socket.on('data', (chunk: string) => lines.push(chunk))
    socket.on('error', () => {})
    socket.on('close', () => {
      peers.delete(peer)
      if (bot === peer) bot = undefined
      for (const conversation of peer.conversations) {
        const set = members.get(conversation)
        set?.delete(peer)
        if (set && set.size === 0) members.delete(conversation)
      }
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve())
  })
  const port = (server.address() as { port: number }).port
  return {
    url: `tcp://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const peer of peers) peer.socket.destroy()
        server.close(() => resolve())
      }),
  }
}
