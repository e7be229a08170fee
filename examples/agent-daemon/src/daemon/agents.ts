/**
 * The agents' configs: one JSON file (`{ "agents": [...] }`) that the admin channel edits. Every
 * change is validated, written to a temporary file, fsynced and renamed over the old one (a crash
 * leaves the old file or the new one, never half of each), and only then applied in memory — so a
 * reply never uses a config that is not on disk. Routing reads the store for each new message: a
 * change applies to the next reply without a restart; a reply already streaming keeps its config.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs'
import { EchoError, validateOptions, type JsonSchema } from '@echostream/node'
import { agentdErrors } from '../errors.js'
import type { ModelConfig } from '../provider/provider.js'

export interface AgentConfig {
  id: string
  name: string
  /** Conversation patterns this agent answers in: exact names, or `*` for any run of characters. */
  conversations: string[]
  /** The system prompt: part of what seeds the reply. */
  system: string
  provider: string
  model: ModelConfig
}

export const modelSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    seed: { type: 'integer', minimum: 0, maximum: 4294967295, default: 1 },
    maxTokens: { type: 'integer', minimum: 1, maximum: 4096, default: 64 },
    tokenDelayMs: { type: 'number', minimum: 0, maximum: 10000, default: 20 },
    jitterMs: { type: 'number', minimum: 0, maximum: 10000, default: 10 },
  },
} as const

const id = { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' } as const

export const agentSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: {
    id,
    name: { type: 'string', minLength: 1, maxLength: 128 },
    conversations: { type: 'array', maxItems: 100, items: { type: 'string', minLength: 1, maxLength: 128 }, default: ['*'] },
    system: { type: 'string', maxLength: 4096, default: '' },
    provider: { type: 'string', enum: ['seeded'], default: 'seeded' },
    model: { ...modelSchema, default: {} },
  },
} as const satisfies JsonSchema

/** Drops `default` keywords: a change must hold only what the caller gave (ajv fills defaults in). */
function withoutDefaults<T>(schema: T): T {
  if (Array.isArray(schema)) return schema.map(withoutDefaults) as T
  if (typeof schema !== 'object' || schema === null) return schema
  return Object.fromEntries(Object.entries(schema).filter(([k]) => k !== 'default').map(([k, v]) => [k, withoutDefaults(v)])) as T
}

/** A change: any field but `id`; `model` merges field by field. */
export const agentChangeSchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: withoutDefaults((({ id: _id, ...rest }) => rest)(agentSchema.properties)),
} as const

const fileSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['agents'],
  properties: { agents: { type: 'array', maxItems: 1000, items: agentSchema } },
} as const satisfies JsonSchema

/** A full agent config from what a user gave: defaults applied, `name` defaulting to the id. */
export function normalizeAgent(input: unknown, where: string): AgentConfig {
  const agent = structuredClone(validateOptions<AgentConfig>(agentSchema, input, 'an agent', where)) as AgentConfig
  agent.name ??= agent.id
  return agent
}

function globToRegExp(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`)
}

export class AgentStore {
  private agents: AgentConfig[] = []
  private readonly matchers = new Map<string, RegExp[]>()
  /** Bumped on every applied change. */
  version = 0

  constructor(readonly file: string) {}

  /** Reads the file; a missing file is an empty store (and is written on the first change). */
  load(): void {
    let text: string
    try {
      text = readFileSync(this.file, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return this.apply([])
      throw agentdErrors.agentsFile(this.file, (error as Error).message)
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch (error) {
      throw agentdErrors.agentsFile(this.file, `not JSON (${(error as Error).message})`)
    }
    let valid: { agents: unknown[] }
    try {
      valid = validateOptions<{ agents: unknown[] }>(fileSchema, parsed, 'the agents file', 'agents')
    } catch (error) {
      throw agentdErrors.agentsFile(this.file, EchoError.from(error).message)
    }
    const agents = valid.agents.map((a, i) => normalizeAgent(a, `agents[${i}]`))
    const seen = new Set<string>()
    for (const agent of agents) {
      if (seen.has(agent.id)) throw agentdErrors.agentsFile(this.file, `agent '${agent.id}' is listed twice`)
      seen.add(agent.id)
    }
    this.apply(agents)
  }

  list(): AgentConfig[] {
    return structuredClone(this.agents)
  }

  get(id: string): AgentConfig | undefined {
    const agent = this.agents.find((a) => a.id === id)
    return agent && structuredClone(agent)
  }

  add(input: unknown): AgentConfig {
    const agent = normalizeAgent(input, 'agent')
    if (this.agents.some((a) => a.id === agent.id)) throw agentdErrors.agentExists(agent.id)
    this.commit([...this.agents, agent])
    return structuredClone(agent)
  }

  update(id: string, change: Partial<Omit<AgentConfig, 'id'>>): AgentConfig {
    const index = this.agents.findIndex((a) => a.id === id)
    if (index < 0) throw agentdErrors.agentMissing(id)
    const current = this.agents[index]!
    const merged = normalizeAgent({ ...current, ...change, id, model: { ...current.model, ...change.model } }, 'agent')
    const next = [...this.agents]
    next[index] = merged
    this.commit(next)
    return structuredClone(merged)
  }

  remove(id: string): AgentConfig {
    const agent = this.agents.find((a) => a.id === id)
    if (!agent) throw agentdErrors.agentMissing(id)
    this.commit(this.agents.filter((a) => a.id !== id))
    return structuredClone(agent)
  }

  /**
   * The agent that answers in `conversation`: an exact name beats a pattern, a longer pattern beats
   * a shorter one, and the earlier agent in the file wins a tie.
   */
  route(conversation: string): AgentConfig | undefined {
    let best: { agent: AgentConfig; score: number } | undefined
    for (const agent of this.agents) {
      const patterns = agent.conversations
      const regexps = this.matchers.get(agent.id)!
      for (let i = 0; i < patterns.length; i++) {
        if (!regexps[i]!.test(conversation)) continue
        const score = patterns[i] === conversation ? Number.MAX_SAFE_INTEGER : patterns[i]!.replace(/\*/g, '').length
        if (!best || score > best.score) best = { agent, score }
      }
    }
    return best && structuredClone(best.agent)
  }

  private commit(agents: AgentConfig[]): void {
    const tmp = `${this.file}.${process.pid}.tmp`
    const fd = openSync(tmp, 'w', 0o600)
    try {
      writeSync(fd, `${JSON.stringify({ agents }, null, 2)}\n`)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, this.file)
    this.apply(agents)
  }

  private apply(agents: AgentConfig[]): void {
    this.agents = agents
    this.matchers.clear()
    for (const agent of agents) this.matchers.set(agent.id, agent.conversations.map(globToRegExp))
    this.version++
  }
}
