/**
 * The daemon, assembled: the agents file, the runtime (agents and their providers), the runtime
 * listener (echostream; users' tokens, admin operations refused), the admin listener (echostream;
 * the admin token only), the platform connectors, and the state file the CLI finds it by.
 */
import { randomBytes } from 'node:crypto'
import { rmSync, writeFileSync, renameSync } from 'node:fs'
import { createServer, type Action } from '@echostream/node'
import presetDefault from '@echostream/preset-default'
import auth from '@echostream/plugin-auth'
import { agentdErrors } from '../errors.js'
import { SeededTextProvider, type LlmProvider } from '../provider/provider.js'
import { startAdmin, type DaemonStatus } from './admin.js'
import { AgentStore } from './agents.js'
import type { DaemonConfig } from './config.js'
import { Connector } from './connector.js'
import { createLog, kernelLogger } from './logs.js'
import { AgentRuntime, replyParamsSchema, type ReplyParams } from './runtime.js'

export interface DaemonState {
  pid: number
  startedAt: number
  runtimeUrl: string
  adminUrl: string
  configFile: string
}

export interface Daemon {
  state: DaemonState
  /** Drains (up to `drainTimeoutMs`), stops everything, removes the state file. Idempotent. */
  shutdown(reason: string): Promise<void>
  /** Resolves once shut down. */
  closed: Promise<void>
}

export async function startDaemon(config: DaemonConfig, options: { destination?: NodeJS.WritableStream } = {}): Promise<Daemon> {
  const { log, recent } = createLog({ level: config.logs.level, recent: config.logs.recent, destination: options.destination })
  const startedAt = Date.now()
  const store = new AgentStore(config.agentsFile)
  store.load()
  const providers = new Map<string, LlmProvider>([['seeded', new SeededTextProvider()]])
  const runtime = new AgentRuntime(store, providers, log.child({ component: 'runtime' }))

  // The connectors in this process use the runtime API like any other client, with a token made
  // for this run (never written anywhere).
  const connectorToken = randomBytes(24).toString('base64url')
  const runtimeLog = log.child({ listener: 'runtime' })
  const runtimeServer = await createServer(
    {
      preset: presetDefault,
      plugins: [auth],
      options: {
        'transport-ws': { host: config.runtime.host, port: config.runtime.port },
        auth: {
          // static tokens, compared by the auth plugin in constant time
          tokens: [
            { token: connectorToken, identity: { name: 'connector', role: 'connector' } },
            ...config.runtime.users.map((u) => ({ token: u.token, identity: { name: u.name, role: 'user' } })),
          ],
          // Admin operations exist only on the admin listener: refused here with a coded error
          // that says where to go, whoever asks.
          authorize: (action: Action) => (action.kind === 'rpc' && action.name.startsWith('admin.') ? agentdErrors.adminOnly(action.name) : undefined),
        },
      },
    },
    { logger: kernelLogger(runtimeLog) },
  )
  runtimeServer.rpc.handle('agent.reply', (params: ReplyParams, ctx) => runtime.reply(params, ctx.signal), { params: replyParamsSchema })
  runtimeServer.rpc.handle('agents.list', () => store.list().map(({ id, name, conversations }) => ({ id, name, conversations })))
  runtimeServer.rpc.handle('runtime.ping', () => 'pong')
  await runtimeServer.start()

  const connectors = config.connectors.map(
    (c) => new Connector({ name: c.name, platformUrl: c.platform, botToken: c.botToken, runtimeUrl: runtimeServer.url!, runtimeToken: connectorToken, log }),
  )

  let shuttingDown: Promise<void> | undefined
  let closedResolve!: () => void
  const closed = new Promise<void>((resolve) => (closedResolve = resolve))
  const status = (): DaemonStatus => {
    const r = runtime.status()
    return {
      pid: process.pid,
      startedAt,
      uptimeMs: Date.now() - startedAt,
      runtimeUrl: runtimeServer.url!,
      adminUrl: adminServer.url!,
      configFile: config.configFile,
      agents: store.list().map(({ id, name, conversations }) => ({ id, name, conversations })),
      conversations: { total: r.conversations, active: r.activeConversations, recent: runtime.conversationList(20) },
      generations: { total: r.generations, active: r.activeGenerations },
      connectors: connectors.map((c) => c.status()),
      draining: r.draining,
    }
  }
  const shutdown = (reason: string): Promise<void> =>
    (shuttingDown ??= (async () => {
      log.info({ reason, drainTimeoutMs: config.drainTimeoutMs }, 'draining')
      const deadline = Date.now() + config.drainTimeoutMs
      for (const c of connectors) c.drain()
      await runtime.drain(config.drainTimeoutMs)
      // A generation that ended is not yet a reply delivered: its result is on its way to the
      // connector, which still has to write reply.end. Stopping the connectors now would abort it.
      await Promise.all(connectors.map((c) => c.idle(Math.max(deadline - Date.now(), 0))))
      for (const c of connectors) await c.stop().catch(() => {})
      await runtimeServer.drain(Math.min(config.drainTimeoutMs, 2000)).catch(() => {})
      await runtimeServer.stop().catch(() => {})
      await adminServer.stop().catch(() => {})
      rmSync(config.stateFile, { force: true })
      log.info({ reason, uptimeMs: Date.now() - startedAt }, 'agentd stopped')
      closedResolve()
    })())

  const adminServer = await startAdmin({
    host: config.admin.host,
    port: config.admin.port,
    token: config.admin.token,
    store,
    runtime,
    recent,
    log,
    status,
    shutdown: (reason) => void shutdown(reason),
  })
  for (const c of connectors) await c.start()

  const state: DaemonState = { pid: process.pid, startedAt, runtimeUrl: runtimeServer.url!, adminUrl: adminServer.url!, configFile: config.configFile }
  const tmp = `${config.stateFile}.tmp`
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 })
  renameSync(tmp, config.stateFile)
  log.info({ runtimeUrl: state.runtimeUrl, adminUrl: state.adminUrl, configFile: state.configFile, agents: store.list().length, connectors: connectors.length }, 'agentd ready')
  return { state, shutdown, closed }
}
