/**
 * The chat's real processes for its tests: nodes (src/node.ts) that can be SIGKILLed and started
 * again, and terminal clients (src/terminal.ts --json) driven through stdin, their JSON lines kept.
 * Everything is stopped in teardown (test/helpers/fixtures' onCleanup).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { onCleanup, until } from '../../../test/helpers/fixtures.js'

const here = dirname(fileURLToPath(import.meta.url))
export const APP = join(here, '..')
const NODE_ARGS = ['--conditions=development', '--import', 'tsx']
export const SECRET = 'test-secret'

function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    child.once('exit', () => resolve())
    child.kill(signal)
  })
}

export interface ChatNode {
  id: string
  url: string
  child: ChildProcess
  kill(): Promise<void>
}

export async function startNode(redisUrl: string, dataDir: string, id: string, port = 0): Promise<ChatNode> {
  const child = spawn(process.execPath, [...NODE_ARGS, join(APP, 'src/node.ts')], {
    cwd: APP,
    env: { ...process.env, REDIS_URL: redisUrl, DATA_DIR: dataDir, CHAT_SECRET: SECRET, NODE_ID: id, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  onCleanup(() => stop(child, 'SIGKILL'))
  let stderr = ''
  child.stderr!.on('data', (chunk) => (stderr += chunk))
  const url = await new Promise<string>((resolve, reject) => {
    let buffer = ''
    const timer = setTimeout(() => reject(new Error(`node ${id} did not start: ${stderr}`)), 30_000)
    child.stdout!.on('data', (chunk) => {
      buffer += chunk
      const match = buffer.match(/^listening (\S+)/m)
      if (match) {
        clearTimeout(timer)
        resolve(match[1]!)
      }
    })
    child.once('exit', (code) => reject(new Error(`node ${id} exited with ${code}: ${stderr}`)))
  })
  return { id, url, child, kill: () => stop(child, 'SIGKILL') }
}

export type Line = { type: string; [key: string]: unknown }

export interface Terminal {
  user: string
  lines: Line[]
  of(type: string): Line[]
  /** Writes a command line (as typed). */
  type(line: string): void
  /** Waits for a line that matches; returns it. */
  waitFor(predicate: (line: Line) => boolean, timeoutMs?: number, what?: string): Promise<Line>
  exited: Promise<number | null>
  kill(signal?: NodeJS.Signals): Promise<void>
}

export function startTerminal(user: string, password: string, urls: string[], stateFile: string, extra: string[] = []): Terminal {
  const child = spawn(process.execPath, [...NODE_ARGS, join(APP, 'src/terminal.ts'), '--user', user, '--password', password, '--urls', urls.join(','), '--state', stateFile, '--json', ...extra], {
    cwd: APP,
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  onCleanup(() => stop(child, 'SIGKILL'))
  const lines: Line[] = []
  createInterface({ input: child.stdout! }).on('line', (text) => {
    try {
      lines.push(JSON.parse(text) as Line)
    } catch {
      lines.push({ type: 'text', text })
    }
  })
  let stderr = ''
  child.stderr!.on('data', (chunk) => (stderr += chunk))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return {
    user,
    lines,
    of: (type) => lines.filter((l) => l.type === type),
    type: (line) => void child.stdin!.write(`${line}\n`),
    async waitFor(predicate, timeoutMs = 20_000, what = 'a line') {
      await until(() => lines.some(predicate), timeoutMs, `${user}: ${what} (stderr: ${stderr.slice(-500)}; last lines: ${JSON.stringify(lines.slice(-3))})`)
      return lines.find(predicate)!
    },
    exited,
    kill: (signal = 'SIGKILL') => stop(child, signal),
  }
}

/** The messages a client delivered in one conversation, as `seq:text` in delivery order. */
export const delivered = (lines: Line[], conv: string) => lines.filter((l) => l.type === 'message' && l.conv === conv).map((l) => `${l.seq}:${l.text ?? (l.file as { name: string }).name}`)
