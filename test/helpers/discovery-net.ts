/**
 * Helpers for the mDNS discovery tests. Everything stays on loopback: the plugin options below
 * multicast on 127.0.0.1 only, each test file uses its own mDNS port (never 5353), and the checks
 * here look for anything left bound or joined outside loopback.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { randomBytes } from 'node:crypto'
import { onCleanup } from './fixtures.js'
import type { PeerConfig } from './discovery-peer.js'

const here = dirname(fileURLToPath(import.meta.url))
export const ROOT = join(here, '..', '..')
export const PEER_SCRIPT = join(here, 'discovery-peer.ts')

/** discovery-mdns options that keep mDNS on loopback (TOOLCHAIN.md: interface + bind 0.0.0.0). */
export function loopback(mdnsPort: number) {
  return { interface: '127.0.0.1', bind: '0.0.0.0', mdnsPort } as const
}

/** A service name no earlier run (or parallel test) has advertised. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`
}

/** UDP sockets of process `pid` bound to `port` (via `ss`); undefined when `ss` is unavailable. */
export function udpSockets(port: number, pid = process.pid): number | undefined {
  const out = spawnSync('ss', ['-u', '-a', '-n', '-p'], { encoding: 'utf8' })
  if (out.status !== 0 || typeof out.stdout !== 'string') return undefined
  return out.stdout.split('\n').filter((line) => new RegExp(`:${port}\\s`).test(line) && line.includes(`pid=${pid},`)).length
}

/** Devices other than loopback on which this host joined the mDNS group 224.0.0.251 (/proc/net/igmp). */
export function mdnsGroupOutsideLoopback(): string[] {
  let text: string
  try {
    text = readFileSync('/proc/net/igmp', 'utf8')
  } catch {
    return []
  }
  const devices: string[] = []
  let device = ''
  for (const line of text.split('\n')) {
    const head = /^\d+\s+(\S+)\s*:/.exec(line)
    if (head) device = head[1]!
    else if (/^\s+FB0000E0\s/.test(line) && device !== 'lo') devices.push(device)
  }
  return devices
}

/**
 * Counts mDNS queries for `_echostream._tcp` multicast on loopback at `port`: proof that someone
 * browsed. A plain dgram socket, so it needs nothing from the plugin under test.
 */
export async function querySpy(port: number): Promise<{ readonly count: number; close(): Promise<void> }> {
  const socket = createSocket({ type: 'udp4', reuseAddr: true })
  let count = 0
  socket.on('message', (message) => {
    // DNS header: the QR bit (0x80 of byte 2) is 0 in a query.
    if (message.length > 12 && (message[2]! & 0x80) === 0 && message.includes(Buffer.from('_echostream'))) count++
  })
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(port, '0.0.0.0', () => {
      socket.addMembership('224.0.0.251', '127.0.0.1')
      resolve()
    })
  })
  let closed: Promise<void> | undefined
  const close = () => (closed ??= new Promise<void>((resolve) => socket.close(() => resolve())))
  onCleanup(close)
  return {
    get count() {
      return count
    },
    close,
  }
}

/** The next value of an async iterator, or a clear failure after `ms`. */
export async function nextWithin<T>(iterator: AsyncIterator<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms)))
  try {
    const result = await Promise.race([iterator.next(), timeout])
    if (result.done) throw new Error(`the iterator ended while waiting for ${what}`)
    return result.value
  } finally {
    clearTimeout(timer)
  }
}

export interface PeerLine {
  event: string
  [key: string]: unknown
}

export interface Peer {
  readonly child: ChildProcess
  readonly lines: PeerLine[]
  readonly output: () => string
  /** The first line (already seen or still to come) with this event. */
  waitFor(event: string, ms: number): Promise<PeerLine>
  /** Resolves with the exit code once the process ended by itself; fails after `ms`. */
  exit(ms: number): Promise<number | null>
}

/**
 * Starts `discovery-peer.ts` in a real Node process (sources via the `development` condition);
 * `prefix` runs it under another command (`ip netns exec NS`). Killed in teardown if still running.
 */
export function startPeer(config: PeerConfig, prefix: string[] = []): Peer {
  const node = [process.execPath, '--import', 'tsx', '--conditions=development', PEER_SCRIPT]
  const [command, ...args] = [...prefix, ...node]
  const child = spawn(command!, args, {
    cwd: ROOT,
    env: { ...process.env, DISCOVERY_PEER: JSON.stringify(config), ECHOSTREAM_CONDITIONS: 'development', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: PeerLine[] = []
  const waiters: Array<() => void> = []
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk
    const parts = stdout.split('\n')
    stdout = parts.pop()!
    for (const part of parts) {
      try {
        lines.push(JSON.parse(part) as PeerLine)
      } catch {
        lines.push({ event: 'text', text: part })
      }
    }
    for (const wake of waiters.splice(0)) wake()
  })
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  let ended = false
  // 'close' comes after the last stdout chunk, so waiters see every line before they give up.
  const exited = new Promise<number | null>((resolve) =>
    child.once('close', (code) => {
      ended = true
      resolve(code)
      for (const wake of waiters.splice(0)) wake()
    }),
  )
  onCleanup(async () => {
    if (!ended) {
      child.kill('SIGKILL')
      await exited
    }
  })
  const output = () => `${config.role} output:\n${lines.map((l) => JSON.stringify(l)).join('\n')}\n${stderr}`
  return {
    child,
    lines,
    output,
    waitFor(event, ms) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${config.role}: no '${event}' within ${ms} ms\n${output()}`)), ms)
        const check = () => {
          const line = lines.find((l) => l.event === event)
          if (line) {
            clearTimeout(timer)
            return resolve(line)
          }
          const failed = lines.find((l) => l.event === 'error')
          if (failed || ended) {
            clearTimeout(timer)
            return reject(new Error(`${config.role} ended or failed before '${event}'\n${output()}`))
          }
          waiters.push(check)
        }
        check()
      })
    },
    async exit(ms) {
      let timer: ReturnType<typeof setTimeout> | undefined
      const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${config.role} did not exit on its own within ${ms} ms (an open handle?)\n${output()}`)), ms)))
      try {
        return await Promise.race([exited, timeout])
      } finally {
        clearTimeout(timer)
      }
    },
  }
}
