/**
 * Slow consumers are bounded (issue #10 item 4, must-show 3). A client that stops reading (its
 * socket paused) is sent events at full speed — as fast as a healthy client in the same broadcast
 * takes them — for 10 s. The server runs in its own process and measures itself: its memory after
 * GC stays under its outbound budget plus a small constant, the policy is applied (the paused
 * session closed with 4009; or, for volatile events, dropped and counted), and the healthy client
 * gets every event, in order. Both policies run at once, one server process each.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { pack } from 'msgpackr'
import { WebSocket } from 'ws'
import { PROTOCOL_VERSION } from '@echostream/kernel'
import { createClient } from '../helpers/create.js'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import events from '@echostream/plugin-events'
import { onCleanup, track, until } from '../helpers/fixtures.js'

const here = dirname(fileURLToPath(import.meta.url))
const WORKSPACE = join(here, '..', '..')
const SCRIPT = join(here, '..', 'helpers', 'slow-consumer-server.ts')
const MiB = 1024 * 1024
const BUDGET = 2 * MiB
const DURATION_MS = 10_000
/** What the server may hold beyond the budget: the encoder's slab, ws and Node bookkeeping, GC slack. */
const CONSTANT = 8 * MiB

interface Memory {
  rss: number
  heapUsed: number
  arrayBuffers: number
}
interface RunResult {
  sent: number
  before: Memory
  after: Memory
  peak: { rss: number; heapUsed: number }
  kernel: { volatileDropped: number; slowConsumerCloses: number; encodes: number }
  events: { volatileDropped: number; failed: number }
  closes: Array<{ tag: unknown; info: { code: number; reason: string } }>
  open: unknown[]
}

function startServer(): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(SCRIPT, [String(BUDGET)], {
    cwd: WORKSPACE,
    execArgv: ['--expose-gc', '--conditions=development', '--import', 'tsx'],
    env: { ...process.env, ECHOSTREAM_CONDITIONS: 'development' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  onCleanup(() => child.kill('SIGKILL'))
  return new Promise((resolve, reject) => {
    child.once('message', (message: { url?: string }) => (message.url ? resolve({ child, url: message.url }) : reject(new Error('no url'))))
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)))
  })
}

/** A raw client that completes the handshake and then stops reading: its socket is paused. */
async function pausedClient(url: string) {
  const ws = new WebSocket(url, { perMessageDeflate: false })
  onCleanup(() => ws.terminate())
  const state = { welcomed: false, close: undefined as { code: number; reason: string } | undefined }
  ws.on('message', () => void (state.welcomed = true))
  ws.on('close', (code, reason) => void (state.close = { code, reason: reason.toString() }))
  ws.on('error', () => {})
  await new Promise((resolve) => ws.once('open', resolve))
  ws.send(pack(['hello', null, null, { protocol: PROTOCOL_VERSION, codec: 'msgpack', plugins: { events: 1 }, limits: { maxPayload: MiB } }]))
  await until(() => state.welcomed, 5000, 'welcome')
  ;(ws as unknown as { _socket: { pause(): void } })._socket.pause()
  return state
}

async function scenario(volatile: boolean) {
  const { child, url } = await startServer()
  const client = track(await createClient({ url, plugins: [transportWs, codecMsgpack, events] }))
  client.hooks.hello.tap('tag', (hello) => ({ ...hello, tag: 'healthy' }))
  const got: number[] = []
  client.events.on('tick', ({ n }: { n: number }) => void got.push(n))
  await client.start()
  const paused = await pausedClient(url)
  const result = await new Promise<RunResult>((resolve, reject) => {
    child.on('message', (message: { result?: RunResult; error?: string }) => (message.result ? resolve(message.result) : message.error && reject(new Error(message.error))))
    child.send({ run: { volatile, durationMs: DURATION_MS, payloadBytes: 1000 } })
  })
  await until(() => got.length >= result.sent, 10_000, 'the healthy client to get every event')
  return { result, got, paused }
}

function retained(memory: Memory): number {
  return memory.heapUsed + memory.arrayBuffers
}

describe('slow consumers are bounded', () => {
  it(`a paused client sent events at full speed for ${DURATION_MS / 1000} s: memory stays under the budget + a constant, the policy applies, a healthy client gets everything`, async () => {
    const [closing, dropping] = await Promise.all([scenario(false), scenario(true)])
    for (const { result, got } of [closing, dropping]) {
      // The healthy client got every event, once, in order.
      expect(got).toHaveLength(result.sent)
      expect(got.every((n, i) => n === i + 1)).toBe(true)
      // A real load: at least 10× the budget went out while the paused client read nothing.
      expect(result.sent * 1000).toBeGreaterThan(10 * BUDGET)
      // The server's own memory after GC: under its budget plus a small constant.
      expect(retained(result.after) - retained(result.before)).toBeLessThan(BUDGET + CONSTANT)
      expect(result.after.rss - result.before.rss).toBeLessThan(BUDGET + 4 * CONSTANT)
      console.log(
        `slow consumer (${result === closing.result ? 'close' : 'volatile drop'}): ${result.sent} events of 1 KB in ${DURATION_MS / 1000} s; ` +
          `heap+buffers after GC ${(retained(result.before) / MiB).toFixed(1)} → ${(retained(result.after) / MiB).toFixed(1)} MiB (peak ${(result.peak.heapUsed / MiB).toFixed(1)}), ` +
          `RSS ${(result.before.rss / MiB).toFixed(1)} → ${(result.after.rss / MiB).toFixed(1)} MiB (peak ${(result.peak.rss / MiB).toFixed(1)}); budget ${BUDGET / MiB} MiB`,
      )
    }
    // Policy "close": the paused session was closed with 4009 (slow consumer); the healthy one stays.
    // (The paused client itself cannot read the close frame: the server's own record is the proof.)
    expect(closing.result.closes).toEqual([{ tag: undefined, info: expect.objectContaining({ code: 4009 }) }])
    expect(closing.result.kernel.slowConsumerCloses).toBe(1)
    expect(closing.result.open).toEqual(['healthy'])
    // Policy "drop volatile": the paused session stays open, what it could not take was dropped and counted.
    expect(dropping.result.closes).toEqual([])
    expect(dropping.result.open.sort()).toEqual(['healthy', 'paused'])
    expect(dropping.result.events.volatileDropped).toBeGreaterThan(0)
    expect(dropping.result.kernel.volatileDropped).toBe(dropping.result.events.volatileDropped)
    expect(dropping.result.kernel.slowConsumerCloses).toBe(0)
  })
})
