/**
 * The LLM provider interface, and its deterministic local implementation: tokens from a seeded
 * text generator with per-token delays — no model, no network. The same request always gives the
 * same tokens (`seededTokens` computes them without waiting, which is how the tests know what a
 * reply must be), and the delays come from a second seeded stream so they never change the text.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { seededRandom } from '@echostream/kernel'

export interface ModelConfig {
  /** Seeds the text: a different seed, a different reply. */
  seed: number
  /** The longest reply, in tokens. */
  maxTokens: number
  /** Mean delay before each token, in ms. */
  tokenDelayMs: number
  /** Each delay is drawn uniformly within ± this many ms of the mean. */
  jitterMs: number
}

export interface GenerateRequest {
  system: string
  prompt: string
  model: ModelConfig
}

export interface GenerateResult {
  finish: 'stop' | 'length'
  tokens: number
}

/** What an agent needs from a model: tokens as they are produced; stops when `signal` aborts. */
export interface LlmProvider {
  readonly name: string
  generate(request: GenerateRequest, signal: AbortSignal): AsyncGenerator<string, GenerateResult>
}

/** FNV-1a, 32 bits. */
export function hash(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

const WORDS = (
  'the a stream token agent reply message daemon signal plugin kernel session frame socket channel ' +
  'river light window garden quiet bright early late small large open careful simple steady ' +
  'we they it this that every some many most one two three ' +
  'is was will can should might runs flows answers waits listens carries holds sends keeps starts ' +
  'and but so then because while after before with without over under through into from ' +
  'today tomorrow always often rarely soon here there again together slowly quickly'
).split(' ')

function seedOf(request: GenerateRequest): number {
  return hash(`${request.model.seed}\u0000${request.system}\u0000${request.prompt}`)
}

/** The whole reply a request gets, token by token (a token is a word with its leading space, or a full stop). */
export function seededTokens(request: GenerateRequest): string[] {
  const random = seededRandom(seedOf(request))
  const length = Math.min(request.model.maxTokens, 12 + Math.floor(random() * 120))
  const tokens: string[] = []
  let sentenceStart = true
  let sinceStop = 0
  while (tokens.length < length) {
    if (sinceStop >= 4 && random() < 0.18 && tokens.length < length - 1) {
      tokens.push('.')
      sentenceStart = true
      sinceStop = 0
      continue
    }
    let word = WORDS[Math.floor(random() * WORDS.length)]!
    if (sentenceStart) word = word[0]!.toUpperCase() + word.slice(1)
    tokens.push(tokens.length === 0 ? word : ` ${word}`)
    sentenceStart = false
    sinceStop++
  }
  return tokens
}

/** The per-token delays of a request, in ms (a separate seeded stream from the text's). */
export function seededDelays(request: GenerateRequest, count: number): number[] {
  const random = seededRandom(seedOf(request) ^ 0x9e3779b9)
  const { tokenDelayMs, jitterMs } = request.model
  return Array.from({ length: count }, () => Math.max(0, tokenDelayMs + (random() * 2 - 1) * jitterMs))
}

export function finishOf(request: GenerateRequest, tokens: number): GenerateResult['finish'] {
  return tokens >= request.model.maxTokens ? 'length' : 'stop'
}

/** The local provider: `seededTokens`, each after its delay; an aborted `signal` ends it at once. */
export class SeededTextProvider implements LlmProvider {
  readonly name = 'seeded'

  async *generate(request: GenerateRequest, signal: AbortSignal): AsyncGenerator<string, GenerateResult> {
    const tokens = seededTokens(request)
    const delays = seededDelays(request, tokens.length)
    for (let i = 0; i < tokens.length; i++) {
      // Rejects with the signal's reason the moment it aborts: no token is produced after that.
      await sleep(delays[i], undefined, { signal })
      yield tokens[i]!
    }
    return { finish: finishOf(request, tokens.length), tokens: tokens.length }
  }
}
