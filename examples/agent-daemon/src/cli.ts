/**
 * `agentd`: start, status and stop the daemon, talk to its admin channel, and run the fake
 * platform and a terminal chat for trying it by hand. Parsed with commander (14: Node ≥ 20), the
 * parser the project's own `echostream` CLI uses. Exit codes: 0 done, 1 an error (`CODE: message`,
 * no stack), 2 a usage error, 3 `status` of a daemon that is not running.
 */
import { spawn } from 'node:child_process'
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs'
import { dirname } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { Command, CommanderError, InvalidArgumentError } from 'commander'
import type { DaemonConfig } from './daemon/config.js'
import type { DaemonStatus } from './daemon/admin.js'
import type { DaemonState } from './daemon/daemon.js'

// The framework is loaded by the commands that use it, not to print help or a usage error.
const framework = async () => ({ ...(await import('@echostream/node')), ...(await import('./errors.js')), ...(await import('./admin-client.js')) })
const loadConfig = async (file: string) => (await import('./daemon/config.js')).loadConfig(file)
const DEFAULT_CONFIG_FILE = 'agentd.config.json'

const DAEMON_MAIN = fileURLToPath(new URL('./daemon/main.ts', import.meta.url))
/** The daemon runs from sources as this CLI does: tsx, and the workspace packages' `development` entries. */
const NODE_ARGS = ['--conditions=development', '--import', import.meta.resolve('tsx')]
const PLATFORM_MAIN = fileURLToPath(new URL('./platform/main.ts', import.meta.url))

class ExitCode extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`)
  }
}

function milliseconds(flag: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`${flag} takes a whole number of milliseconds, e.g. ${flag} 30000.`)
    return Number(value)
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function readState(config: DaemonConfig): DaemonState | undefined {
  try {
    return JSON.parse(readFileSync(config.stateFile, 'utf8')) as DaemonState
  } catch {
    return undefined
  }
}

/** The running daemon's state, or an `E_STATE` saying why there is none (a stale state file is removed). */
async function running(config: DaemonConfig): Promise<DaemonState> {
  const { agentdErrors } = await framework()
  const state = readState(config)
  if (!state) throw agentdErrors.notRunning(config.stateFile, 'no state file')
  if (!alive(state.pid)) {
    rmSync(config.stateFile, { force: true })
    throw agentdErrors.notRunning(config.stateFile, `pid ${state.pid} is gone; removed its stale state file`)
  }
  return state
}

async function adminCall<T>(config: DaemonConfig, state: DaemonState, method: string, params: unknown = {}): Promise<T> {
  const { connectAdmin } = await framework()
  const client = await connectAdmin(state.adminUrl, config.admin.token)
  try {
    return (await client.rpc.request(method, params, { timeoutMs: 10_000 })) as T
  } finally {
    await client.stop().catch(() => {})
  }
}

async function waitFor(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (predicate()) return true
    await new Promise((r) => setTimeout(r, 50))
  }
  return predicate()
}

function tail(file: string, lines = 5): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return '(no log)'
  }
}

async function start(options: { config: string; foreground?: boolean; timeout: number }): Promise<void> {
  const config = await loadConfig(options.config)
  const { agentdErrors } = await framework()
  const previous = readState(config)
  if (previous && alive(previous.pid)) throw agentdErrors.alreadyRunning(previous.pid, previous.adminUrl)
  if (previous) rmSync(config.stateFile, { force: true })
  if (options.foreground) {
    const { runDaemon } = await import('./daemon/main.js')
    return runDaemon(config.configFile)
  }
  const log = openSync(config.logFile, 'a')
  const child = spawn(process.execPath, [...NODE_ARGS, DAEMON_MAIN, '--config', config.configFile], {
    cwd: dirname(config.configFile),
    env: { ...process.env, ECHOSTREAM_CONDITIONS: 'development' },
    detached: true,
    stdio: ['ignore', log, log],
  })
  closeSync(log)
  let exited: string | undefined
  child.once('exit', (code, signal) => (exited = signal ? `it was killed by ${signal}` : `it exited with code ${code}`))
  child.unref()
  const up = await waitFor(() => exited !== undefined || readState(config)?.pid === child.pid, options.timeout)
  if (exited || !up) {
    if (!exited) child.kill('SIGKILL')
    throw agentdErrors.startFailed(exited ?? `no state file within ${options.timeout} ms`, `${config.logFile}; its last lines:\n${tail(config.logFile)}`)
  }
  const state = readState(config)!
  console.log(`agentd started: pid ${state.pid}\n  runtime ${state.runtimeUrl}\n  admin   ${state.adminUrl}\n  log     ${config.logFile}`)
}

function formatStatus(s: DaemonStatus): string {
  const uptime = `${Math.floor(s.uptimeMs / 3_600_000)}h ${Math.floor((s.uptimeMs / 60_000) % 60)}m ${Math.floor((s.uptimeMs / 1000) % 60)}s`
  return [
    `agentd running${s.draining ? ' (draining)' : ''}: pid ${s.pid}, up ${uptime}`,
    `  runtime ${s.runtimeUrl}`,
    `  admin   ${s.adminUrl}`,
    `  agents (${s.agents.length}): ${s.agents.map((a) => `${a.id} [${a.conversations.join(', ')}]`).join('; ') || 'none'}`,
    `  conversations: ${s.conversations.total} (${s.conversations.active} replying)`,
    `  generations: ${s.generations.total} (${s.generations.active} running)`,
    `  connectors: ${s.connectors.map((c) => `${c.name} ${c.connected ? 'connected' : 'DISCONNECTED'}`).join(', ') || 'none'}`,
  ].join('\n')
}

async function status(options: { config: string; json?: boolean }): Promise<void> {
  const config = await loadConfig(options.config)
  const { EchoError } = await framework()
  let state: DaemonState
  try {
    state = await running(config)
  } catch (error) {
    if (options.json) console.log(JSON.stringify({ running: false, reason: EchoError.from(error).message }))
    else console.log(EchoError.from(error).message)
    throw new ExitCode(3)
  }
  const s = await adminCall<DaemonStatus>(config, state, 'admin.status')
  console.log(options.json ? JSON.stringify({ running: true, ...s }, null, 2) : formatStatus(s))
}

async function stop(options: { config: string; timeout?: number }): Promise<void> {
  const config = await loadConfig(options.config)
  const { EchoError } = await framework()
  let state: DaemonState
  try {
    state = await running(config)
  } catch (error) {
    console.log(EchoError.from(error).message)
    return
  }
  await adminCall(config, state, 'admin.shutdown')
  const timeout = options.timeout ?? config.drainTimeoutMs + 10_000
  if (!(await waitFor(() => !alive(state.pid), timeout))) {
    throw new EchoError('E_TIMEOUT', `agentd (pid ${state.pid}) is still draining after ${timeout} ms; wait, or end it with: kill ${state.pid}`)
  }
  console.log(`agentd stopped (pid ${state.pid})`)
}

async function admin(method: string, params: string | undefined, options: { config: string }): Promise<void> {
  const config = await loadConfig(options.config)
  let parsed: unknown = {}
  if (params !== undefined) {
    try {
      parsed = JSON.parse(params)
    } catch (error) {
      throw new InvalidArgumentError(`params must be JSON (${(error as Error).message}), e.g. '{"id":"helper"}'`)
    }
  }
  const result = await adminCall(config, await running(config), method.startsWith('admin.') ? method : `admin.${method}`, parsed)
  console.log(JSON.stringify(result, null, 2))
}

async function platform(options: { port: number; botToken: string }): Promise<void> {
  process.env.PLATFORM_PORT = String(options.port)
  process.env.PLATFORM_BOT_TOKEN = options.botToken
  await import(PLATFORM_MAIN)
}

async function chat(conversation: string, options: { user: string; platform: string }): Promise<void> {
  const { PlatformConnection } = await import('./platform/client.js')
  const connection = await PlatformConnection.open(options.platform)
  await connection.hello({ user: options.user })
  connection.on((m) => {
    if (m.type === 'reply.start') process.stdout.write('agent: ')
    else if (m.type === 'reply.delta') process.stdout.write(String(m.text))
    else if (m.type === 'reply.end') process.stdout.write(m.reason === 'stop' || m.reason === 'length' ? '\n' : ` [${m.reason}${m.error ? `: ${m.error}` : ''}]\n`)
    else if (m.type === 'post') console.log(`${m.user}: ${m.text}`)
    else if (m.type === 'message') console.log(`${m.user}: ${m.text}`)
    else if (m.type === 'error') console.log(`(platform: ${m.code}: ${m.message})`)
  })
  console.log(`${options.user} in '${conversation}' on ${options.platform}; type a message, "stop" to cancel a reply, Ctrl-D to leave.`)
  const lines = createInterface({ input: process.stdin })
  for await (const line of lines) if (line.trim()) connection.send({ type: 'send', conversation, text: line })
  connection.close()
}

function program(): Command {
  const cli = new Command('agentd').description('An agent daemon on echostream: platform connector → agents → streamed replies').exitOverride()
  const configOption = ['-c, --config <file>', 'the daemon config', DEFAULT_CONFIG_FILE] as const
  cli
    .command('start')
    .description('start the daemon in the background (or --foreground), wait until it serves')
    .option(...configOption)
    .option('-f, --foreground', 'run in this process until SIGINT/SIGTERM or admin shutdown')
    .option('--timeout <ms>', 'how long to wait for it to come up', milliseconds('--timeout'), 30_000)
    .action(start)
  cli.command('status').description("the running daemon's agents, conversations, uptime and pid (exit 3: not running)").option(...configOption).option('--json', 'as JSON').action(status)
  cli
    .command('stop')
    .description('ask the daemon over the admin channel to drain and exit, and wait for it')
    .option(...configOption)
    .option('--timeout <ms>', 'how long to wait for it to exit (default: its drainTimeoutMs + 10 s)', milliseconds('--timeout'))
    .action(stop)
  cli
    .command('admin <method> [json]')
    .description("call an admin method: agents.list, agents.add '{\"agent\":{...}}', agents.update '{\"id\":…,\"change\":{...}}', agents.remove, logs, generations, status")
    .option(...configOption)
    .action(admin)
  cli
    .command('platform')
    .description('run the fake messaging platform (newline-delimited JSON over TCP on loopback)')
    .option('-p, --port <port>', 'port', (v) => Number(v), 7400)
    .option('--bot-token <token>', 'the token the bot (connector) must present', process.env.PLATFORM_BOT_TOKEN ?? 'bot-dev-token')
    .action(platform)
  cli
    .command('chat <conversation>')
    .description('chat in a conversation on the fake platform from this terminal')
    .option('-u, --user <name>', 'your name', process.env.USER ?? 'me')
    .option('--platform <url>', 'the platform', 'tcp://127.0.0.1:7400')
    .action(chat)
  cli
    .command('demo')
    .description('the whole loop in a temp folder: platform, daemon, a streamed conversation, stop, an admin change, status, stop')
    .action(async () => (await import('./demo.js')).demo())
  return cli
}

export async function main(argv = process.argv): Promise<void> {
  try {
    await program().parseAsync(argv)
  } catch (error) {
    if (error instanceof ExitCode) process.exit(error.code)
    if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2) // commander printed it
    if (error instanceof InvalidArgumentError) {
      console.error(`E_USAGE: ${error.message}`)
      process.exit(2)
    }
    const { EchoError } = await framework()
    const e = EchoError.from(error)
    console.error(`${e.code}: ${e.message}`)
    if (process.env.AGENTD_DEBUG && e.cause) console.error(e.cause)
    process.exit(1)
  }
}

if (existsSync(process.argv[1] ?? '') && fileURLToPath(import.meta.url) === process.argv[1]) await main()
