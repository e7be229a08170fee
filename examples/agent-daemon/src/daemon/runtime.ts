/**
 * The agent runtime: routes a conversation's message to its agent and streams the agent's reply,
 * token by token, from the agent's LLM provider. `reply()` is what the runtime API's streaming
 * method `agent.reply` returns; the call's `ctx.signal` reaches the provider, so a caller that
 * cancels (a user who said "stop") ends the generation within one round trip.
 *
 * It also keeps what `status` reports: conversations seen (bounded, least recently active dropped
 * first) and the recent generations with their timing (cancel latency is measured here).
 */
import type { Logger as Pino } from 'pino'
import { EchoError } from '@echostream/node'
import { agentdErrors } from '../errors.js'
import type { GenerateResult, LlmProvider } from '../provider/provider.js'
import type { AgentStore } from './agents.js'

export interface ReplyParams {
  conversation: string
  user: string
  text: string
  /** The platform's id of the message answered (for logs and records). */
  messageId?: string
}

export interface ReplyResult {
  agent: string
  finish: GenerateResult['finish']
  tokens: number
}

export interface GenerationRecord {
  id: number
  agent: string
  conversation: string
  messageId?: string
  /** Wall-clock start (ms since the epoch). */
  startedAt: number
  /** `performance.now()` of this process at start, abort and end: comparable with the connector's marks. */
  startedPerf: number
  abortedPerf?: number
  endedPerf?: number
  /** Wall-clock end (ms since the epoch): a token that reached a user before it was streamed. */
  endedAt?: number
  tokens: number
  /** Tokens the provider produced after the signal aborted (0 is the only right answer). */
  tokensAfterAbort: number
  finish?: GenerateResult['finish'] | 'cancelled' | 'error'
  error?: string
}

export const replyParamsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['conversation', 'user', 'text'],
  properties: {
    conversation: { type: 'string', minLength: 1, maxLength: 128 },
    user: { type: 'string', minLength: 1, maxLength: 128 },
    text: { type: 'string', maxLength: 16384 },
    messageId: { type: 'string', maxLength: 128 },
  },
} as const

interface Conversation {
  agent?: string
  messages: number
  lastActivity: number
  active: number
}

const MAX_CONVERSATIONS = 10_000
const MAX_RECORDS = 200

export class AgentRuntime {
  private readonly conversations = new Map<string, Conversation>()
  private readonly records: GenerationRecord[] = []
  private nextId = 0
  private active = 0
  private draining = false

  constructor(
    private readonly store: AgentStore,
    private readonly providers: ReadonlyMap<string, LlmProvider>,
    private readonly log: Pino,
  ) {}

  /** Streams the reply of the agent that answers in `params.conversation`. */
  async *reply(params: ReplyParams, signal: AbortSignal): AsyncGenerator<string, ReplyResult> {
    if (this.draining) throw agentdErrors.draining()
    const agent = this.store.route(params.conversation)
    if (!agent) throw agentdErrors.noAgent(params.conversation)
    const provider = this.providers.get(agent.provider)
    if (!provider) throw agentdErrors.providerUnknown(agent.provider, [...this.providers.keys()])
    const conversation = this.touch(params.conversation, agent.id)
    const record: GenerationRecord = {
      id: ++this.nextId,
      agent: agent.id,
      conversation: params.conversation,
      messageId: params.messageId,
      startedAt: Date.now(),
      startedPerf: performance.now(),
      tokens: 0,
      tokensAfterAbort: 0,
    }
    this.remember(record)
    const onAbort = () => {
      record.abortedPerf = performance.now()
    }
    signal.addEventListener('abort', onAbort, { once: true })
    this.active++
    conversation.active++
    this.log.info({ generation: record.id, agent: agent.id, conversation: params.conversation, messageId: params.messageId, seed: agent.model.seed }, 'generation started')
    const tokens = provider.generate({ system: agent.system, prompt: params.text, model: agent.model }, signal)
    try {
      for (;;) {
        const next = await tokens.next()
        if (signal.aborted) record.tokensAfterAbort += next.done ? 0 : 1
        if (next.done) {
          record.finish = next.value.finish
          return { agent: agent.id, finish: next.value.finish, tokens: record.tokens }
        }
        record.tokens++
        yield next.value
      }
    } catch (error) {
      if (signal.aborted) {
        record.finish = 'cancelled'
        return { agent: agent.id, finish: 'stop', tokens: record.tokens }
      }
      record.finish = 'error'
      record.error = EchoError.from(error).message
      throw error
    } finally {
      signal.removeEventListener('abort', onAbort)
      // a caller that cancels closes this generator at a `yield`: nothing above ran, it was cancelled
      if (!record.finish) record.finish = 'cancelled'
      record.endedPerf = performance.now()
      record.endedAt = Date.now()
      this.active--
      conversation.active--
      await tokens.return?.(undefined as never).catch(() => {})
      const ms = (record.endedPerf - record.startedPerf).toFixed(1)
      if (record.finish === 'cancelled') {
        this.log.info({ generation: record.id, agent: agent.id, conversation: params.conversation, tokens: record.tokens, tokensAfterAbort: record.tokensAfterAbort, abortedPerf: record.abortedPerf, endedPerf: record.endedPerf }, 'generation cancelled')
      } else {
        this.log.info({ generation: record.id, agent: agent.id, conversation: params.conversation, tokens: record.tokens, finish: record.finish, ms }, 'generation ended')
      }
    }
  }

  /** Takes no new replies from now on; resolves when the running ones ended or `timeoutMs` passed. */
  async drain(timeoutMs: number): Promise<void> {
    this.draining = true
    const deadline = Date.now() + timeoutMs
    while (this.active > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  }

  generations(limit = 50): GenerationRecord[] {
    return structuredClone(this.records.slice(-limit))
  }

  status(): { conversations: number; activeConversations: number; activeGenerations: number; generations: number; draining: boolean } {
    let activeConversations = 0
    for (const c of this.conversations.values()) if (c.active > 0) activeConversations++
    return { conversations: this.conversations.size, activeConversations, activeGenerations: this.active, generations: this.nextId, draining: this.draining }
  }

  conversationList(limit = 100): Array<{ id: string; agent?: string; messages: number; lastActivity: number; active: boolean }> {
    return [...this.conversations.entries()].slice(-limit).map(([id, c]) => ({ id, agent: c.agent, messages: c.messages, lastActivity: c.lastActivity, active: c.active > 0 }))
  }

  private touch(id: string, agent: string): Conversation {
    let conversation = this.conversations.get(id)
    if (conversation) this.conversations.delete(id) // re-inserted: Map order is recency order
    else conversation = { messages: 0, lastActivity: 0, active: 0 }
    conversation.agent = agent
    conversation.messages++
    conversation.lastActivity = Date.now()
    this.conversations.set(id, conversation)
    if (this.conversations.size > MAX_CONVERSATIONS) {
      for (const [key, c] of this.conversations) {
        if (c.active === 0) {
          this.conversations.delete(key)
          break
        }
      }
    }
    return conversation
  }

  private remember(record: GenerationRecord): void {
    this.records.push(record)
    if (this.records.length > MAX_RECORDS) this.records.shift()
  }
}
