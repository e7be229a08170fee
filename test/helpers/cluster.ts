/**
 * Drives cluster nodes as real processes (helpers/cluster-node.ts) and cluster clients in the test
 * process. Every node and client is stopped in teardown.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { type EchoKernel, type WireError } from '@echostream/kernel'
import { createClient } from './create.js'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import rpc from '@echostream/plugin-rpc'
import events from '@echostream/plugin-events'
import reconnect from '@echostream/plugin-reconnect'
import cluster from '@echostream/plugin-cluster'
import { onCleanup, track, until } from './fixtures.js'

const here = dirname(fileURLToPath(import.meta.url))
const WORKSPACE = join(here, '..', '..')
const SCRIPT = join(here, 'cluster-node.ts')

export type Line = { type: string; [key: string]: unknown }

export interface NodeProcess {
  id: string
  url: string
  child: ChildProcess
  lines: Line[]
  of(type: string): Line[]
  command<T = unknown>(cmd: string, args?: Record<string, unknown>): Promise<T>
  /** Like `command`, but resolves with the wire error instead of rejecting. */
  attempt(cmd: string, args?: Record<string, unknown>): Promise<{ result?: unknown; error?: WireError }>
  kill(signal?: NodeJS.Signals): Promise<void>
}

export async function startNode(redisUrl: string, nodeId: string, options: { cluster?: Record<string, unknown>; reconnect?: Record<string, unknown>; port?: number } = {}): Promise<NodeProcess> {
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', SCRIPT, JSON.stringify({ redisUrl, nodeId, ...options })], {
    cwd: WORKSPACE,
    env: { ...process.env, ECHOSTREAM_CONDITIONS: 'development' },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  onCleanup(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  const lines: Line[] = []
  const replies = new Map<number, (line: Line) => void>()
  let stderr = ''
  child.stderr!.on('data', (d) => (stderr += d))
  createInterface({ input: child.stdout! }).on('line', (text) => {
    let line: Line
    try {
      line = JSON.parse(text) as Line
    } catch {
      return
    }
    if (line.type === 'reply') replies.get(line.id as number)?.(line)
    else lines.push(line)
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  await Promise.race([
    until(() => lines.some((l) => l.type === 'listening'), 30_000, `node ${nodeId} listening`),
    exited.then(() => {
      throw new Error(`node ${nodeId} exited: ${stderr}`)
    }),
  ])
  let next = 0
  const attempt = (cmd: string, args: Record<string, unknown> = {}) => {
    const id = ++next
    return new Promise<{ result?: unknown; error?: WireError }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`node ${nodeId}: no reply to ${cmd} (${stderr.slice(-500)})`)), 20_000)
      replies.set(id, (line) => {
        clearTimeout(timer)
        replies.delete(id)
        resolve(line as { result?: unknown; error?: WireError })
      })
      child.stdin!.write(JSON.stringify({ id, cmd, ...args }) + '\n')
    })
  }
  return {
    id: nodeId,
    url: lines.find((l) => l.type === 'listening')!.url as string,
    child,
    lines,
    of: (type) => lines.filter((l) => l.type === type),
    attempt,
    async command<T>(cmd: string, args?: Record<string, unknown>) {
      const reply = await attempt(cmd, args)
      if (reply.error) throw Object.assign(new Error(`${cmd}: ${reply.error.code}: ${reply.error.message}`), reply.error)
      return reply.result as T
    },
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
      child.kill(signal)
      return exited
    },
  }
}

/** A client with the cluster preset's plugins; `urls` rotate on every reconnect attempt. */
export async function clusterClient(urls: string[], reconnectOptions: Record<string, unknown> = {}): Promise<EchoKernel> {
  const client = track(
    await createClient({
      plugins: [transportWs, codecMsgpack, rpc, events, [reconnect, { initialDelayMs: 50, maxDelayMs: 300, factor: 2, jitter: 0.2, ...reconnectOptions }], [cluster, { urls }]],
    }),
  )
  await client.start()
  return client
}

export { until }
