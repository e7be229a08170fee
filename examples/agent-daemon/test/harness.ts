/**
 * Drives the example as real processes: the fake platform and the daemon each in their own
 * process (killed in teardown), users as TCP clients of the platform, and the admin and runtime
 * channels as echostream clients in the test process.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createClient } from '@echostream/node'
import presetDefault from '@echostream/preset-default'
import auth from '@echostream/plugin-auth'
import { onCleanup, tempDir, track, until } from '../../../test/helpers/fixtures.js'
import { connectAdmin } from '../src/admin-client.js'
import { PlatformConnection, type Incoming } from '../src/platform/client.js'
import type { AgentConfig } from '../src/daemon/agents.js'
import type { DaemonState } from '../src/daemon/daemon.js'

export const EXAMPLE = join(dirname(fileURLToPath(import.meta.url)), '..')
export const BOT_TOKEN = 'bot-token-for-tests'
export const ADMIN_TOKEN = 'admin-token-for-tests'
export const USER_TOKEN = 'user-token-for-tests'
const NODE_ARGS = ['--conditions=development', '--import', 'tsx']

export { until, onCleanup, tempDir }

function spawnTracked(script: string, args: string[], env: Record<string, string> = {}): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [...NODE_ARGS, join(EXAMPLE, script), ...args], {
    cwd: EXAMPLE,
    env: { ...process.env, ECHOSTREAM_CONDITIONS: 'development', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d))
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  onCleanup(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  return { child, output: () => output, exited }
}

export async function startPlatform(): Promise<{ url: string; kill(): void }> {
  const p = spawnTracked('src/platform/main.ts', [], { PLATFORM_BOT_TOKEN: BOT_TOKEN })
  await Promise.race([
    until(() => p.output().includes('"listening"'), 30_000, 'the platform listening'),
    p.exited.then(() => {
      throw new Error(`the platform exited: ${p.output()}`)
    }),
  ])
  const line = p.output().split('\n').find((l) => l.includes('"listening"'))!
  return { url: (JSON.parse(line) as { url: string }).url, kill: () => p.child.kill('SIGKILL') }
}

export const agent = (id: string, fields: Partial<Omit<AgentConfig, 'id' | 'model'>> & { model?: Partial<AgentConfig['model']> } = {}) => ({ id, ...fields })

/** A daemon config (and agents file) in a fresh temp folder; returns the config file's path. */
export function writeDaemonConfig(platformUrl: string, agents: unknown[], extra: Record<string, unknown> = {}): string {
  const dir = tempDir()
  const config = join(dir, 'agentd.config.json')
  writeFileSync(
    config,
    JSON.stringify({
      runtime: { port: 0, users: [{ name: 'ada', token: USER_TOKEN }] },
      admin: { port: 0, token: '${AGENTD_TEST_ADMIN_TOKEN}' },
      connectors: [{ name: 'fakechat', platform: platformUrl, botToken: BOT_TOKEN }],
      drainTimeoutMs: 5000,
      ...extra,
    }),
  )
  writeFileSync(join(dir, 'agents.json'), JSON.stringify({ agents }))
  return config
}

export interface DaemonProcess {
  state: DaemonState
  child: ChildProcess
  output(): string
  exited: Promise<number | null>
}

/** Runs the daemon's main module as its own process and waits until it wrote its state file. */
export async function startDaemon(configFile: string): Promise<DaemonProcess> {
  const stateFile = join(dirname(configFile), 'agentd.state.json')
  const p = spawnTracked('src/daemon/main.ts', ['--config', configFile], { AGENTD_TEST_ADMIN_TOKEN: ADMIN_TOKEN })
  const read = (): DaemonState | undefined => {
    try {
      return JSON.parse(readFileSync(stateFile, 'utf8')) as DaemonState
    } catch {
      return undefined
    }
  }
  await Promise.race([
    until(() => read()?.pid === p.child.pid && p.output().includes('connected to the platform'), 30_000, 'the daemon ready'),
    p.exited.then(() => {
      throw new Error(`the daemon exited: ${p.output()}`)
    }),
  ])
  return { state: read()!, ...p }
}

export async function admin(url: string, token = ADMIN_TOKEN) {
  return track(await connectAdmin(url, token))
}

export async function runtimeClient(url: string, token = USER_TOKEN) {
  const client = track(await createClient({ preset: presetDefault, plugins: [auth], url, options: { auth: { credentials: token } } }))
  await client.start()
  return client
}

export interface Reply {
  id: string
  startedAt: number
  deltas: Array<{ seq: number; text: string; at: number }>
  end?: Incoming & { reason: string }
  endedAt?: number
}

/** A user on the platform that records every reply it sees, by conversation. */
export class User {
  readonly replies: Reply[] = []
  readonly posts: Incoming[] = []
  readonly errors: Incoming[] = []
  private constructor(readonly connection: PlatformConnection) {
    connection.on((m) => {
      const now = Date.now()
      if (m.type === 'reply.start') this.replies.push({ id: String(m.id), startedAt: now, deltas: [] })
      else if (m.type === 'reply.delta') this.reply(String(m.id))?.deltas.push({ seq: Number(m.seq), text: String(m.text), at: now })
      else if (m.type === 'reply.end') {
        const reply = this.reply(String(m.id))
        if (reply) Object.assign(reply, { end: m, endedAt: now })
      } else if (m.type === 'post') this.posts.push(m)
      else if (m.type === 'error') this.errors.push(m)
    })
  }

  static async connect(platformUrl: string, name: string): Promise<User> {
    const connection = await PlatformConnection.open(platformUrl)
    onCleanup(() => connection.close())
    await connection.hello({ user: name })
    return new User(connection)
  }

  reply(id: string): Reply | undefined {
    return this.replies.find((r) => r.id === id)
  }

  /** Sends `text` and resolves with the platform's message id. */
  send(conversation: string, text: string): Promise<string> {
    return new Promise((resolve) => {
      const ref = `${Math.random()}`
      const off = this.connection.on((m) => {
        if (m.type === 'sent' && m.ref === ref) {
          off()
          resolve(String(m.id))
        }
      })
      this.connection.send({ type: 'send', conversation, text, ref })
    })
  }

  /** Sends `text` and waits for the whole reply to it. */
  async ask(conversation: string, text: string, timeoutMs = 30_000): Promise<Reply> {
    const id = await this.send(conversation, text)
    await until(() => this.reply(`r-${id}`)?.end !== undefined, timeoutMs, `the reply to '${text}'`)
    return this.reply(`r-${id}`)!
  }
}

export const textOf = (reply: Reply) => reply.deltas.map((d) => d.text)

/** Runs `bin/agentd.js` as a user would, in its own process. */
export function agentd(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(EXAMPLE, 'bin/agentd.js'), ...args], { env: { ...process.env, AGENTD_TEST_ADMIN_TOKEN: ADMIN_TOKEN }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.on('exit', (code) => resolve({ code, stdout, stderr }))
  })
}

export const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** In teardown, SIGKILLs whatever daemon the state file beside `configFile` names (one `agentd start` left running). */
export function killDaemonAfter(configFile: string): void {
  const stateFile = join(dirname(configFile), 'agentd.state.json')
  onCleanup(() => {
    try {
      const { pid } = JSON.parse(readFileSync(stateFile, 'utf8')) as { pid: number }
      if (alive(pid)) process.kill(pid, 'SIGKILL')
    } catch {
      // no state file: nothing running
    }
  })
}
