/**
 * Streams and clock sync in a page: an upload from the page arrives exact; a download to a page
 * that reads slowly keeps the server's memory within the credit window; strings read through a
 * WHATWG stream arrive as UTF-8 bytes (a page has no Buffer); the page's clock agrees with the
 * server's within 1 ms on loopback.
 */
import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EchoKernel, Session } from '@echostream/kernel'
import { startHarness, type Harness } from './helpers/harness.js'
import { startServer } from './helpers/server.js'
import { track } from '../helpers/fixtures.js'

let harness: Harness
beforeAll(async () => {
  harness = await startHarness()
})
afterAll(() => harness?.close())

/** The same pseudo-random chunk on both sides: chunk `i` of `size` bytes. */
function chunk(i: number, size: number): Uint8Array {
  const out = new Uint8Array(size)
  let x = (i + 1) * 2654435761
  for (let j = 0; j < size; j++) out[j] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24
  return out
}

describe('streams and clock sync in a page', () => {
  it('uploads 4 MiB from the page; the server receives it exact, in order', async () => {
    const server: EchoKernel = track(await startServer())
    const received = new Promise<{ hash: string; bytes: number; frames: number }>((resolve) => {
      server.streams.handle('upload', async (stream) => {
        const hash = createHash('sha256')
        let bytes = 0
        let frames = 0
        for await (const frame of stream) {
          const data = frame.data as Uint8Array
          hash.update(data)
          bytes += data.byteLength
          frames++
        }
        resolve({ hash: hash.digest('hex'), bytes, frames })
      })
    })
    const { page, errors } = await harness.newPage()
    const sent = await page.evaluate(
      async ({ url, chunkSource }) => {
        const chunk = new Function(`return ${chunkSource}`)() as (i: number, size: number) => Uint8Array
        const client = (window.client = await window.echostream.createClient({ url }))
        await client.start()
        const writer = await client.streams.open('upload')
        const all = new Uint8Array(64 * 64 * 1024)
        for (let i = 0; i < 64; i++) {
          const data = chunk(i, 64 * 1024)
          all.set(data, i * 64 * 1024)
          await writer.write(data)
        }
        await writer.end()
        const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', all))
        return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('')
      },
      { url: server.url!, chunkSource: chunk.toString() },
    )
    expect(await received).toEqual({ hash: sent, bytes: 64 * 64 * 1024, frames: 64 })
    await page.evaluate(() => window.client.stop())
    expect(errors).toEqual([])
  })

  it('downloads to a page that reads slowly: unread bytes and the server queue stay within the windows', async () => {
    const window_ = 64 * 1024
    const server: EchoKernel = track(await startServer({ streams: { streamWindow: window_ } }))
    const { page, errors } = await harness.newPage()
    await page.evaluate(async ({ url, window_ }) => {
      // The page receives: its window is the one that counts, fixed here (tuning off: max = initial).
      const client = (window.client = await window.echostream.createClient({ url, options: { streams: { streamWindow: window_, maxStreamWindow: window_ } } }))
      window.seen = [{ bytes: 0, frames: 0, maxUnread: 0, window: 0 }]
      client.streams.handle('download', async (stream: AsyncIterable<{ data: Uint8Array }> & { stats(): { unreadBytes: number; window: number } }) => {
        const tally = window.seen[0]
        for await (const frame of stream) {
          const stats = stream.stats()
          tally.maxUnread = Math.max(tally.maxUnread, stats.unreadBytes)
          tally.window = stats.window
          tally.bytes += frame.data.byteLength
          tally.frames++
          await new Promise((resolve) => setTimeout(resolve, 2)) // a slow reader
        }
        tally.done = true
      })
      await client.start()
    }, { url: server.url!, window_ })
    const session: Session = server.sessions()[0]!
    const writer = await session.openStream('download')
    let maxQueued = 0
    let maxBuffered = 0
    let maxAhead = 0
    const total = 4 * 1024 * 1024
    const size = 16 * 1024
    for (let i = 0; i < total / size; i++) {
      await writer.write(chunk(i, size))
      const stats = writer.stats()
      maxQueued = Math.max(maxQueued, stats.queuedBytes)
      maxAhead = Math.max(maxAhead, stats.sentOffset - (stats.maxOffset - stats.window))
      maxBuffered = Math.max(maxBuffered, session.bufferedAmount)
    }
    await writer.end()
    await page.waitForFunction(() => window.seen[0].done === true, undefined, { timeout: 20_000 })
    const tally = await page.evaluate(() => window.seen[0])
    expect(tally).toMatchObject({ bytes: total, frames: total / size, window: window_ })
    // Unread in the page never above the stream window; the server never more than a window ahead
    // of what the page consumed, queues at most one chunk, and its socket buffer stays small.
    expect(tally.maxUnread).toBeLessThanOrEqual(window_)
    expect(maxAhead).toBeLessThanOrEqual(window_)
    expect(maxQueued).toBeLessThanOrEqual(size + 64)
    expect(maxBuffered).toBeLessThanOrEqual(window_ + size)
    await page.evaluate(() => window.client.stop())
    expect(errors).toEqual([])
  })

  it('reads a stream of strings as UTF-8 bytes through toWebReadable; the Node adapters refuse with a code', async () => {
    const server: EchoKernel = track(await startServer())
    const { page, errors } = await harness.newPage()
    await page.evaluate(async ({ url }) => {
      const client = (window.client = await window.echostream.createClient({ url }))
      window.seen = [{ text: '', node: '' }]
      client.streams.handle('text', async (stream: { toWebReadable(): ReadableStream<Uint8Array>; toNodeReadable(): unknown }) => {
        try {
          stream.toNodeReadable()
        } catch (error) {
          window.seen[0].node = `${(error as { code: string }).code}`
        }
        const decoder = new TextDecoder()
        try {
          for await (const bytes of stream.toWebReadable() as unknown as AsyncIterable<Uint8Array>) window.seen[0].text += decoder.decode(bytes, { stream: true })
        } catch (error) {
          window.seen[0].text += `!${String(error)}`
        }
        window.seen[0].done = true
      })
      await client.start()
    }, { url: server.url! })
    const writer = await server.sessions()[0]!.openStream('text')
    for (const part of ['héllo ', 'wörld ', '→ ✓']) await writer.write(part)
    await writer.end()
    // On a timeout the assertion below shows what the page saw (an error text, if the read failed).
    await page.waitForFunction(() => window.seen[0].done === true, undefined, { timeout: 20_000 }).catch(() => {})
    expect(await page.evaluate(() => window.seen[0])).toMatchObject({ text: 'héllo wörld → ✓', node: 'E_STATE' })
    await page.evaluate(() => window.client.stop())
    expect(errors).toEqual([])
  })

  it("syncs the page's clock (performance.now based) to the server's within 1 ms", async () => {
    const server: EchoKernel = track(await startServer())
    server.rpc.handle('clock.server', () => server.clock.now())
    const { page, errors } = await harness.newPage()
    const result = await page.evaluate(async (url) => {
      // An injected offset of +5 s: the page's own clock is far off, sync must find it.
      const client = (window.client = await window.echostream.createClient({ url, options: { 'clock-sync': { localOffsetMs: 5000 } } }))
      await client.start()
      await client.clock.whenSynced({ timeoutMs: 10_000 })
      const samples: Array<{ rtt: number; error: number }> = []
      for (let i = 0; i < 10; i++) {
        const a = client.clock.now()
        const s: number = await client.rpc.request('clock.server')
        const b = client.clock.now()
        samples.push({ rtt: b - a, error: s - (a + b) / 2 })
      }
      samples.sort((x, y) => x.rtt - y.rtt)
      return { best: samples[0], reading: client.clock.reading() }
    }, server.url!)
    expect(Math.abs(result.best!.error)).toBeLessThan(1000)
    expect(result.reading.offsetUs).toBeLessThan(-4_990_000) // it found the injected 5 s
    await page.evaluate(() => window.client.stop())
    expect(errors).toEqual([])
  })
})
