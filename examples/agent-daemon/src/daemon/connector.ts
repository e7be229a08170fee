/**
 * The connector between the fake messaging platform and the agent runtime. It is the bot on the
 * platform (newline-delimited JSON over TCP) and a client of the runtime API (echostream, with the
 * runtime's credentials): each message becomes a streaming `agent.reply` call whose tokens go back
 * to the conversation as `reply.delta` lines the moment they arrive.
 *
 * - One reply at a time per conversation; later messages wait in a small queue (MAX_QUEUE).
 * - "stop" (or "/stop") aborts the conversation's call: the runtime's `ctx.signal` aborts and the
 *   provider stops, within one round trip. The connector then makes one more call (`runtime.ping`)
 *   and logs both marks: the rpc plugin answers a call made after a cancel only after the handler
 *   saw the abort, so the ping's reply bounds the cancel latency by one measured round trip.
 * - Backpressure end to end: a platform that reads slowly pauses the relay, the relay stops
 *   reading the stream, the stream's credit window pauses the provider.
 * - Shutdown waits for the relays, not only for the runtime's generations: a generation that has
 *   ended still has its last tokens and its result on the way to this client, and its
 *   `reply.end` to write. `idle()` resolves when every relay has written its end; `stop()` aborts
 *   what is left and lets those relays write their `reply.end` ("cancelled") before it closes the
 *   platform connection.
 * - The platform connection is re-made with backoff when it drops (the platform keeps the bot's
 *   messages while it is away); the runtime client lives in this process beside the runtime.
 */
import type { Logger as Pino } from 'pino'
import { createClient, EchoError } from '@echostream/node'
import presetDefault from '@echostream/preset-default'
import auth from '@echostream/plugin-auth'
import { PlatformConnection, type Incoming } from '../platform/client.js'
import type { ReplyResult } from './runtime.js'

export interface ConnectorOptions {
  name: string
  platformUrl: string
  botToken: string
  runtimeUrl: string
  runtimeToken: string
  log: Pino
}

interface ConversationState {
  current?: { controller: AbortController; replyId: string }
  queue: Incoming[]
}

const MAX_QUEUE = 16
const STOP_WORDS = new Set(['stop', '/stop'])
/** How long `stop()` gives aborted relays to write their end (an abort settles within a round trip to the runtime in this process). */
const STOP_WAIT_MS = 2000

async function connectRuntime(url: string, token: string) {
  const client = await createClient({ preset: presetDefault, plugins: [auth], url, options: { auth: { credentials: token } } })
  await client.start()
  return client
}

export class Connector {
  private platform?: PlatformConnection
  private runtime?: Awaited<ReturnType<typeof connectRuntime>>
  private readonly conversations = new Map<string, ConversationState>()
  private stopped = false
  private draining = false
  private retryTimer?: NodeJS.Timeout
  /** Relays in flight (each ends with its `reply.end` written, or its message dropped). */
  private readonly relays = new Set<Promise<void>>()
  private backoffMs = 100
  private readonly log: Pino
  connected = false

  constructor(private readonly options: ConnectorOptions) {
    this.log = options.log.child({ connector: options.name })
  }

  async start(): Promise<void> {
    this.runtime = await connectRuntime(this.options.runtimeUrl, this.options.runtimeToken)
    await this.connectPlatform().catch((error) => {
      this.log.warn({ err: (error as Error).message }, 'platform not reachable yet: retrying')
      this.scheduleReconnect()
    })
  }

  /** Takes no new messages; the replies already streaming carry on. */
  drain(): void {
    this.draining = true
  }

  /** Resolves once no relay is in flight (every reply streaming has written its end), or after `timeoutMs`. */
  async idle(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (this.relays.size > 0 && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined
      await Promise.race([Promise.allSettled([...this.relays]), new Promise((resolve) => (timer = setTimeout(resolve, deadline - Date.now())))])
      clearTimeout(timer)
    }
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.retryTimer)
    for (const state of this.conversations.values()) {
      state.queue.length = 0
      state.current?.controller.abort()
    }
    // The aborted relays write their reply.end ('cancelled') before the connection closes.
    await this.idle(STOP_WAIT_MS)
    this.platform?.close()
    await this.runtime?.stop()
  }

  status(): { name: string; connected: boolean; activeReplies: number } {
    let activeReplies = 0
    for (const state of this.conversations.values()) if (state.current) activeReplies++
    return { name: this.options.name, connected: this.connected, activeReplies }
  }

  private async connectPlatform(): Promise<void> {
    const platform = await PlatformConnection.open(this.options.platformUrl)
    platform.onClose(() => {
      this.connected = false
      if (this.platform === platform) this.platform = undefined
      if (!this.stopped) {
        this.log.warn('platform connection lost: reconnecting')
        this.scheduleReconnect()
      }
    })
    platform.on((message) => this.onPlatform(message))
    // Set before hello: the platform sends its backlog right behind the welcome, in the same read,
    // and those messages are relayed before hello() resolves.
    this.platform = platform
    const welcome = await platform.hello({ bot: true, token: this.options.botToken })
    this.connected = true
    this.backoffMs = 100
    this.log.info({ platform: this.options.platformUrl, backlog: welcome.backlog }, 'connected to the platform')
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.retryTimer) return
    const delay = this.backoffMs * (0.75 + Math.random() * 0.5)
    this.backoffMs = Math.min(this.backoffMs * 2, 2000)
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined
      this.connectPlatform().catch(() => this.scheduleReconnect())
    }, delay)
  }

  private state(conversation: string): ConversationState {
    let state = this.conversations.get(conversation)
    if (!state) {
      state = { queue: [] }
      this.conversations.set(conversation, state)
    }
    return state
  }

  private post(conversation: string, text: string): void {
    this.platform?.send({ type: 'post', conversation, text })
  }

  private onPlatform(message: Incoming): void {
    if (message.type === 'error') return void this.log.warn({ code: message.code, message: message.message }, 'the platform refused a line')
    if (message.type !== 'message') return
    const conversation = String(message.conversation)
    const text = String(message.text)
    if (STOP_WORDS.has(text.trim().toLowerCase())) return void this.stopConversation(conversation, String(message.id))
    if (this.draining) return this.post(conversation, 'agentd is restarting: send that again in a moment.')
    const state = this.state(conversation)
    if (state.queue.length >= MAX_QUEUE) return this.post(conversation, `Too many messages waiting (${MAX_QUEUE}): this one was dropped. Say "stop" to cancel the current reply.`)
    state.queue.push(message)
    if (!state.current) void this.next(conversation, state)
  }

  private async next(conversation: string, state: ConversationState): Promise<void> {
    const message = state.queue.shift()
    if (!message) {
      if (!state.current) this.conversations.delete(conversation)
      return
    }
    const replyId = `r-${String(message.id)}`
    const controller = new AbortController()
    state.current = { controller, replyId }
    const relay = this.relay(conversation, message, replyId, controller.signal)
    this.relays.add(relay)
    try {
      await relay
    } finally {
      this.relays.delete(relay)
      state.current = undefined
      if (!this.stopped) void this.next(conversation, state)
    }
  }

  /** One streaming call, relayed token by token. */
  private async relay(conversation: string, message: Incoming, replyId: string, signal: AbortSignal): Promise<void> {
    const platform = this.platform
    if (!platform || !this.runtime) {
      // the platform went away between the message and now: it was delivered, so it is lost
      return void this.log.warn({ conversation, messageId: message.id }, 'no platform connection to reply on: message dropped')
    }
    platform.send({ type: 'reply.start', conversation, id: replyId, replyTo: message.id })
    let seq = 0
    const stream = this.runtime.rpc.stream(
      'agent.reply',
      { conversation, user: String(message.user), text: String(message.text), messageId: String(message.id) },
      { signal },
    )
    try {
      for await (const token of stream) {
        // A platform that reads slowly slows the relay, which stops taking from the stream; the
        // rpc credit window then pauses the provider: nothing piles up in between.
        if (!platform.send({ type: 'reply.delta', id: replyId, seq: seq++, text: String(token) })) await platform.drained()
      }
      const result = (await stream.result) as ReplyResult
      platform.send({ type: 'reply.end', id: replyId, reason: result.finish })
    } catch (error) {
      const e = EchoError.from(error)
      if (signal.aborted) return void platform.send({ type: 'reply.end', id: replyId, reason: 'cancelled' })
      this.log.warn({ conversation, code: e.code, err: e.message }, 'reply failed')
      platform.send({ type: 'reply.end', id: replyId, reason: 'error', error: `${e.code}: ${e.message}` })
    }
  }

  private stopConversation(conversation: string, messageId: string): void {
    const state = this.conversations.get(conversation)
    if (!state?.current) return this.post(conversation, 'Nothing to stop.')
    state.queue.length = 0
    const stopPerf = performance.now()
    state.current.controller.abort()
    this.log.info({ conversation, messageId, replyId: state.current.replyId, stopPerf }, 'stop requested')
    // The first call after a cancel is answered only after the handler saw the abort (rpc plugin
    // README, "Cancellation both ways"): its reply marks the end of one round trip.
    void this.runtime?.rpc.request('runtime.ping').then(
      () => {
        const ackPerf = performance.now()
        this.log.info({ conversation, messageId, stopPerf, ackPerf, roundTripMs: ackPerf - stopPerf }, 'stop acknowledged')
      },
      () => {},
    )
  }
}
