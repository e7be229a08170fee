/**
 * Reconnect in a page: the link drops (a proxy destroys it) and resumes with events both ways
 * exactly once and the pending call answered; a silent dead link is noticed by the heartbeat
 * within the server's announced deadline; the server process restarts and the page goes on with
 * a new session, the pending call settled with E_CLOSED and its offline events sent once.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer as createNetServer } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EchoKernel, Session } from '@echostream/kernel'
import { startHarness, type Harness } from './helpers/harness.js'
import { startServer } from './helpers/server.js'
import { startProxy } from './helpers/proxy.js'
import { onCleanup, track, until } from '../helpers/fixtures.js'

let harness: Harness
beforeAll(async () => {
  harness = await startHarness()
})
afterAll(() => harness?.close())

const FAST_RECONNECT = { initialDelayMs: 50, maxDelayMs: 200, jitter: 0 }

describe('reconnect in a page', () => {
  it('resumes after the link drops: events both ways exactly once, in order; the pending call answered', async () => {
    const server: EchoKernel = track(await startServer())
    const got: number[] = []
    server.events.on('n', (n: number) => void got.push(n))
    server.rpc.handle('slow', (value: string) => new Promise((resolve) => setTimeout(() => resolve(`done ${value}`), 400)))
    const proxy = await startProxy(server.url!)
    onCleanup(() => proxy.close())
    const { page, errors } = await harness.newPage()
    await page.evaluate(async ({ url, reconnect }) => {
      window.seen = []
      const client = (window.client = await window.echostream.createClient({ url, options: { reconnect } }))
      client.events.on('tick', (n: number) => window.seen.push(['tick', n]))
      client.reconnect.on('reconnecting', () => window.seen.push(['reconnecting']))
      client.reconnect.on('reconnected', (data: { recovered: boolean }) => window.seen.push(['reconnected', data.recovered]))
      await client.start()
      void client.rpc.request('slow', 'x').then((r: string) => window.seen.push(['slow', r]), (e: { code: string }) => window.seen.push(['slow', e.code]))
      for (let n = 1; n <= 3; n++) client.events.emit('n', n)
    }, { url: proxy.url, reconnect: { ...FAST_RECONNECT, initialDelayMs: 400 } })
    await until(() => got.length === 3, 5000, 'the first events')
    const session: Session = server.sessions()[0]!
    proxy.drop()
    await until(() => session.state === 'suspended', 5000, 'the server to suspend the session')
    for (let n = 1; n <= 3; n++) session.emit('tick', n) // recorded while the page is away
    await page.waitForFunction(() => window.seen.some(([what]: [string]) => what === 'reconnecting'))
    await page.evaluate(() => {
      for (let n = 4; n <= 6; n++) window.client.events.emit('n', n) // queued while offline
    })
    await page.waitForFunction(() => window.seen.some(([what]: [string]) => what === 'slow'), undefined, { timeout: 10_000 })
    await until(() => got.length >= 6, 5000, 'the offline events')
    // A barrier each way shows nothing else (no duplicate) follows.
    session.emit('tick', 99)
    await page.evaluate(() => window.client.events.emit('n', 99))
    await page.waitForFunction(() => window.seen.some(([what, n]: [string, number]) => what === 'tick' && n === 99))
    await until(() => got.includes(99), 5000, 'the barrier')
    expect(got).toEqual([1, 2, 3, 4, 5, 6, 99])
    const seen = await page.evaluate(() => window.seen)
    expect(seen.filter(([what]: [string]) => what === 'tick')).toEqual([['tick', 1], ['tick', 2], ['tick', 3], ['tick', 99]])
    expect(seen).toContainEqual(['reconnected', true])
    expect(seen).toContainEqual(['slow', 'done x'])
    await page.evaluate(() => window.client.stop())
    expect(errors.filter((e) => !e.includes('WebSocket'))).toEqual([])
  })

  it("notices a silent dead link within the server's announced deadline (heartbeat) and reconnects", async () => {
    // The server announces pings every 300 ms, 300 ms to answer: the page must give up within ~600 ms.
    const server: EchoKernel = track(await startServer({ 'transport-ws': { pingIntervalMs: 300, pingTimeoutMs: 300 } }))
    const proxy = await startProxy(server.url!)
    onCleanup(() => proxy.close())
    const { page } = await harness.newPage()
    await page.evaluate(async ({ url, reconnect }) => {
      window.seen = []
      const client = (window.client = await window.echostream.createClient({ url, options: { reconnect } }))
      client.reconnect.on('reconnecting', (data: { reason: string }) => window.seen.push(['reconnecting', performance.now(), data.reason]))
      client.reconnect.on('reconnected', (data: { recovered: boolean }) => window.seen.push(['reconnected', performance.now(), data.recovered]))
      await client.start()
    }, { url: proxy.url, reconnect: FAST_RECONNECT })
    await new Promise((resolve) => setTimeout(resolve, 700)) // a few heartbeats on a live, idle link
    expect(await page.evaluate(() => window.seen)).toEqual([])
    const silentFrom = await page.evaluate(() => performance.now())
    proxy.blackhole()
    await page.waitForFunction(() => window.seen.some(([what]: [string]) => what === 'reconnected'), undefined, { timeout: 10_000 })
    const seen = await page.evaluate(() => window.seen)
    const [, noticedAt, reason] = seen.find(([what]: [string]) => what === 'reconnecting')
    expect(reason).toMatch(/ping timeout/)
    // Silent from `silentFrom` at the latest; the deadline is interval + timeout (600 ms) after the last message.
    expect(noticedAt - silentFrom).toBeLessThan(600 + 300)
    // Reconnect took over (whether the server still had the session depends on its own ping timing).
    expect(typeof seen.find(([what]: [string]) => what === 'reconnected')[2]).toBe('boolean')
    expect(await page.evaluate(() => window.client.session.state)).toBe('open')
    await page.evaluate(() => window.client.stop())
  })

  it('goes on after the server process restarts: a new session, the pending call settled, offline events sent once', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createNetServer().listen(0, '127.0.0.1', () => {
        const address = probe.address()
        probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
      })
    })
    const script = join(dirname(fileURLToPath(import.meta.url)), '../helpers/reconnect-server.ts')
    const lines: string[] = []
    const start = async (): Promise<ChildProcess> => {
      const child = spawn(process.execPath, ['--import', 'tsx', script, String(port)], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ECHOSTREAM_CONDITIONS: 'development' } })
      child.stdout!.on('data', (chunk: Buffer) => lines.push(...chunk.toString().trim().split('\n')))
      onCleanup(() => void child.kill('SIGKILL'))
      await until(() => lines.some((l) => l.startsWith('listening')), 15_000, 'the server process to listen')
      return child
    }
    let child = await start()
    const { page } = await harness.newPage({ bundle: 'core' })
    await page.evaluate(async ({ url, reconnect }) => {
      window.seen = []
      const client = (window.client = await window.echostream.createClient({ url, options: { reconnect } }))
      client.reconnect.on('reconnecting', () => window.seen.push(['reconnecting']))
      client.reconnect.on('reconnected', (data: { recovered: boolean }) => window.seen.push(['reconnected', data.recovered]))
      await client.start()
      void client.rpc.request('slow').then(() => window.seen.push(['slow', 'resolved']), (e: { code: string }) => window.seen.push(['slow', e.code]))
      client.events.emit('n', 1)
    }, { url: `ws://127.0.0.1:${port}`, reconnect: { ...FAST_RECONNECT, initialDelayMs: 100 } })
    await until(() => lines.includes('got 1'), 5000, 'event 1')
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
    await page.waitForFunction(() => window.seen.some(([what]: [string]) => what === 'reconnecting'))
    await page.evaluate(() => {
      for (let n = 2; n <= 4; n++) window.client.events.emit('n', n)
    })
    lines.length = 0
    child = await start()
    await page.waitForFunction(() => window.seen.some(([what]: [string]) => what === 'reconnected'), undefined, { timeout: 10_000 })
    await until(() => lines.includes('got 4'), 5000, 'the offline events at the new server')
    await page.evaluate(() => window.client.events.emit('n', 5))
    await until(() => lines.includes('got 5'), 5000, 'the barrier')
    expect(lines.filter((l) => l.startsWith('got'))).toEqual(['got 2', 'got 3', 'got 4', 'got 5'])
    const seen = await page.evaluate(() => window.seen)
    expect(seen).toContainEqual(['reconnected', false])
    expect(seen).toContainEqual(['slow', 'E_CLOSED'])
    await page.evaluate(() => window.client.stop())
  })
})
