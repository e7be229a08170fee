/**
 * The admin channel: its own echostream server on its own listener, admitting only the admin token.
 * Agents (list, add, update, remove — persisted, applied live), recent logs and generations, the
 * daemon's status, and shutdown (drain, then exit). The runtime listener never serves any of it.
 */
import { createServer } from '@echostream/node'
import presetDefault from '@echostream/preset-default'
import auth from '@echostream/plugin-auth'
import type { Logger as Pino } from 'pino'
import { agentChangeSchema, agentSchema, type AgentConfig, type AgentStore } from './agents.js'
import { kernelLogger, type LogEntry, type RecentLogs } from './logs.js'
import type { AgentRuntime, GenerationRecord } from './runtime.js'

export interface DaemonStatus {
  pid: number
  startedAt: number
  uptimeMs: number
  runtimeUrl: string
  adminUrl: string
  configFile: string
  agents: Array<{ id: string; name: string; conversations: string[] }>
  conversations: { total: number; active: number; recent: ReturnType<AgentRuntime['conversationList']> }
  generations: { total: number; active: number }
  connectors: Array<{ name: string; connected: boolean; activeReplies: number }>
  draining: boolean
}

export interface AdminDeps {
  host: string
  port: number
  token: string
  store: AgentStore
  runtime: AgentRuntime
  recent: RecentLogs
  log: Pino
  status(): DaemonStatus
  shutdown(reason: string): void
}

const idParams = { type: 'object', additionalProperties: false, required: ['id'], properties: { id: agentSchema.properties.id } } as const

export async function startAdmin(deps: AdminDeps) {
  const log = deps.log.child({ listener: 'admin' })
  const server = await createServer(
    {
      preset: presetDefault,
      plugins: [auth],
      options: {
        'transport-ws': { host: deps.host, port: deps.port },
        // the one admin token (the auth plugin compares in constant time and throttles failures)
        auth: { tokens: [{ token: deps.token, identity: { name: 'admin', role: 'admin' } }] },
      },
    },
    { logger: kernelLogger(log) },
  )
  const rpc = server.rpc
  rpc.handle('admin.agents.list', (): AgentConfig[] => deps.store.list())
  rpc.handle(
    'admin.agents.add',
    ({ agent }: { agent: AgentConfig }) => {
      const added = deps.store.add(agent)
      log.info({ agent: added.id, version: deps.store.version }, 'agent added')
      return added
    },
    { params: { type: 'object', additionalProperties: false, required: ['agent'], properties: { agent: agentSchema } } },
  )
  rpc.handle(
    'admin.agents.update',
    ({ id, change }: { id: string; change: Partial<AgentConfig> }) => {
      const updated = deps.store.update(id, change)
      log.info({ agent: id, fields: Object.keys(change), version: deps.store.version }, 'agent updated')
      return updated
    },
    { params: { type: 'object', additionalProperties: false, required: ['id', 'change'], properties: { id: agentSchema.properties.id, change: agentChangeSchema } } },
  )
  rpc.handle(
    'admin.agents.remove',
    ({ id }: { id: string }) => {
      const removed = deps.store.remove(id)
      log.info({ agent: id, version: deps.store.version }, 'agent removed')
      return removed
    },
    { params: idParams },
  )
  rpc.handle(
    'admin.logs',
    (params: { limit?: number; level?: string; contains?: string }): LogEntry[] => deps.recent.query(params),
    {
      params: {
        type: 'object',
        default: {},
        additionalProperties: false,
        properties: {
          limit: { type: 'integer', minimum: 1, maximum: 10000 },
          level: { type: 'string', enum: ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] },
          contains: { type: 'string', maxLength: 256 },
        },
      },
    },
  )
  rpc.handle(
    'admin.generations',
    (params: { limit?: number }): GenerationRecord[] => deps.runtime.generations(params.limit ?? 50),
    { params: { type: 'object', default: {}, additionalProperties: false, properties: { limit: { type: 'integer', minimum: 1, maximum: 200 } } } },
  )
  rpc.handle('admin.status', (): DaemonStatus => deps.status())
  rpc.handle('admin.shutdown', (_: unknown, ctx) => {
    log.info({ session: ctx.session.id }, 'shutdown requested over the admin channel')
    // answer first, then drain: the caller learns the pid to wait for
    setImmediate(() => deps.shutdown('admin.shutdown'))
    return { pid: process.pid, draining: true }
  })
  await server.start()
  return server
}
