/**
 * The browser client in headless Chromium against a real server: connect, RPC both ways, coded
 * errors, events and rooms, and a clean stop. One browser for the file; a page per test.
 */
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EchoError, type EchoKernel, type Session } from '@echostream/kernel'
import { startHarness, type Harness } from './helpers/harness.js'
import { startProxy } from './helpers/proxy.js'
import { startServer } from './helpers/server.js'
import { onCleanup, track, until } from '../helpers/fixtures.js'

let harness: Harness
beforeAll(async () => {
  harness = await startHarness()
})
afterAll(() => harness?.close())

/** The largest send plus the largest receive buffer a TCP socket on this machine can have (Linux). */
function socketBufferMax(): number {
  const read = (name: string) => readFileSync(`/proc/sys/net/${name}`, 'utf8').trim().split(/\s+/).map(Number)
  const send = Math.max(read('ipv4/tcp_wmem')[2]!, read('core/wmem_max')[0]!)
  const receive = Math.max(read('ipv4/tcp_rmem')[2]!, read('core/rmem_max')[0]!)
  return send + receive
}

async function server(): Promise<EchoKernel> {
  return track(await startServer())
}

describe('browser client', () => {
  it('connects and calls both ways (the server calls the page)', async () => {
    const srv = await server()
    srv.rpc.handle('math.add', ({ a, b }: { a: number; b: number }) => a + b)
    const { page, errors } = await harness.newPage()
    const sum = await page.evaluate(async (url) => {
      const client = (window.client = await window.echostream.createClient({ url }))
      client.rpc.handle('page.title', (params: { prefix: string }) => `${params.prefix}${document.title}`)
      await client.start()
      return client.rpc.request('math.add', { a: 1, b: 2 })
    }, srv.url!)
    expect(sum).toBe(3)
    const session = srv.sessions()[0]!
    expect(await session.request('page.title', { prefix: '> ' })).toBe('> echostream test page')
    // Binary stays binary both ways.
    srv.rpc.handle('bytes.reverse', (bytes: Uint8Array) => Uint8Array.from(bytes).reverse())
    const reversed = await page.evaluate(() => window.client.rpc.request('bytes.reverse', new Uint8Array([1, 2, 3])).then((b: Uint8Array) => [b instanceof Uint8Array, ...b]))
    expect(reversed).toEqual([true, 3, 2, 1])
    await page.evaluate(() => window.client.stop())
    expect(errors).toEqual([])
  })

  it('the core bundle (no streams, no clock sync) connects and calls', async () => {
    const srv = await server()
    srv.rpc.handle('echo', (value: unknown) => value)
    const { page, errors } = await harness.newPage({ bundle: 'core' })
    const out = await page.evaluate(async (url) => {
      const client = await window.echostream.createClient({ url })
      await client.start()
      const echoed = await client.rpc.request('echo', { text: 'héllo', n: 2 ** 40, list: [1, -1, 1.5] })
      await client.stop()
      return { echoed, hasStreams: 'streams' in client }
    }, srv.url!)
    expect(out).toEqual({ echoed: { text: 'héllo', n: 2 ** 40, list: [1, -1, 1.5] }, hasStreams: false })
    expect(errors).toEqual([])
  })

  it('checks options in the page without ajv: unknown, mistyped and out-of-range options are refused with E_CONFIG', async () => {
    const { page, errors } = await harness.newPage({ bundle: 'core' })
    const refusals = await page.evaluate(async () => {
      const attempt = (options: object) => window.echostream.createClient({ url: 'ws://127.0.0.1:9', options }).then(() => 'accepted', (e: { code: string; message: string }) => `${e.code}: ${e.message}`)
      return [await attempt({ rpc: { bogus: 1 } }), await attempt({ 'transport-ws': { highWaterMark: 'big' } }), await attempt({ reconnect: { maxDelayMs: -1 } }), await attempt({ rpc: {} })]
    })
    expect(refusals[0]).toMatch(/^E_CONFIG: .*bogus/)
    expect(refusals[1]).toMatch(/^E_CONFIG: .*highWaterMark/)
    expect(refusals[2]).toMatch(/^E_CONFIG: .*maxDelayMs/)
    expect(refusals[3]).toBe('accepted')
    // Production messages (presets/browser README, "Decisions"): the id, the values, where the full text is.
    const short = /^E_CONFIG: (\w{4}): .* \(@echostream\/preset-browser ERRORS\.md\)$/.exec(refusals[0]!)
    expect(short, refusals[0]).not.toBeNull()
    expect(readFileSync(new URL('../../presets/browser/ERRORS.md', import.meta.url), 'utf8')).toMatch(new RegExp(`\`${short![1]}\` \\| kernel/core/src/options\\.ts \\| Invalid options for \\{1\\}`))
    expect(errors).toEqual([])
  })

  it('coded errors cross both ways, with code and message, without stacks', async () => {
    const srv = await server()
    srv.rpc.handle('math.divide', ({ a, b }: { a: number; b: number }) => {
      if (b === 0) throw new EchoError('E_DIVIDE_BY_ZERO', 'Cannot divide by zero: pass a non-zero b.', { data: { a } })
      return a / b
    })
    srv.rpc.handle('slow', () => new Promise((resolve) => setTimeout(resolve, 2000)))
    const { page, errors } = await harness.newPage()
    const results = await page.evaluate(async (url) => {
      const client = (window.client = await window.echostream.createClient({ url }))
      client.rpc.handle('page.fail', () => {
        throw new window.echostream.EchoError('E_PAGE_SAYS_NO', 'The page refuses.')
      })
      await client.start()
      const caught = async (p: Promise<unknown>) => p.then(() => 'resolved', (e) => ({ code: e.code, message: e.message, data: e.data, isEchoError: e instanceof window.echostream.EchoError, stack: String(e.stack).includes('math') }))
      return {
        divide: await caught(client.rpc.request('math.divide', { a: 1, b: 0 })),
        missing: await caught(client.rpc.request('no.such.method')),
        timeout: await caught(client.rpc.request('slow', undefined, { timeoutMs: 50 })),
      }
    }, srv.url!)
    expect(results.divide).toMatchObject({ code: 'E_DIVIDE_BY_ZERO', message: 'Cannot divide by zero: pass a non-zero b.', data: { a: 1 }, isEchoError: true })
    expect(results.missing).toMatchObject({ code: 'E_METHOD_NOT_FOUND', isEchoError: true })
    expect(results.timeout).toMatchObject({ code: 'E_TIMEOUT', isEchoError: true })
    const fromPage = await srv.sessions()[0]!.request('page.fail').catch((e: EchoError) => e)
    expect(fromPage).toBeInstanceOf(EchoError)
    expect(fromPage).toMatchObject({ code: 'E_PAGE_SAYS_NO', message: 'The page refuses.' })
    await page.evaluate(() => window.client.stop())
    expect(errors).toEqual([])
  })

  it('schemas are checked by the server: a bad payload from the page gets the coded error of the server; the page checks only Standard Schema validators', async () => {
    const srv = await server()
    const strict = { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'], additionalProperties: false }
    srv.rpc.handle('typed', (params: unknown) => params, { params: strict })
    const heard: unknown[] = []
    srv.events.schema('note', strict)
    srv.events.on('note', (data: unknown) => heard.push(data))
    const { page, errors } = await harness.newPage({ bundle: 'core' })
    const out = await page.evaluate(async (url) => {
      const warned: string[] = []
      const client = (window.client = await window.echostream.createClient({ url, logger: { info() {}, warn: (m: string) => warned.push(m), error: (m: string) => warned.push(m) } }))
      const params = { type: 'object', default: { n: 0 }, properties: { n: { type: 'integer' } }, required: ['n'], additionalProperties: false }
      client.rpc.handle('page.json', (p: unknown) => p, { params })
      // A Standard Schema validator (what zod or valibot give) brings its own code: checked in the page.
      const standard = { '~standard': { version: 1, vendor: 'test', validate: (v: unknown) => (typeof v === 'number' ? { value: v } : { issues: [{ message: 'expected a number' }] }) } }
      client.rpc.handle('page.standard', (p: unknown) => p, { params: standard })
      await client.start()
      const bad = await client.rpc.request('typed', { n: 'x' }).then(() => 'resolved', (e: { code: string; message: string }) => ({ code: e.code, message: e.message }))
      const good = await client.rpc.request('typed', { n: 2 })
      client.events.emit('note', { n: 'x' })
      client.events.emit('note', { n: 3 })
      const until = Date.now() + 5000
      while (!warned.length && Date.now() < until) await new Promise((r) => setTimeout(r, 20))
      return { bad, good, warned }
    }, srv.url!)
    // The server's check, with the server's full message, crosses to the page.
    expect(out.bad).toMatchObject({ code: 'E_INVALID_PARAMS', message: expect.stringMatching(/params\.n must be integer/) })
    expect(out.good).toEqual({ n: 2 })
    expect(out.warned.join('\n')).toMatch(/E_INVALID_PAYLOAD/)
    await until(() => heard.length === 1, 5000, 'the good note')
    expect(heard).toEqual([{ n: 3 }])
    // In the page a JSON Schema is not compiled: the value arrives as the server sent it, a missing one as the root default.
    const session = srv.sessions()[0]!
    expect(await session.request('page.json', { n: 'x', extra: 1 })).toEqual({ n: 'x', extra: 1 })
    expect(await session.request('page.json')).toEqual({ n: 0 })
    expect(await session.request('page.standard', 5)).toBe(5)
    await expect(session.request('page.standard', 'five')).rejects.toMatchObject({ code: 'E_INVALID_PARAMS' })
    await page.evaluate(() => window.client.stop())
    expect(errors).toEqual([])
  })

  it('streaming RPC is in the full bundle: in the core bundle every streaming call ends with E_CONFIG on both sides, nothing left running', async () => {
    const srv = await server()
    const log: string[] = []
    srv.rpc.handle('count', async function* (_params: unknown, ctx: { signal: AbortSignal }) {
      try {
        for (let i = 0; i < 1000 && !ctx.signal.aborted; i++) yield i
      } finally {
        log.push('count closed')
      }
    })
    srv.rpc.handle('sum', async (items: AsyncIterable<number>) => {
      let total = 0
      try {
        for await (const n of items) total += n
      } catch (error) {
        log.push(`sum: ${(error as EchoError).code}`)
        throw error
      }
      return total
    })
    const { page, errors } = await harness.newPage({ bundle: 'core' })
    const out = await page.evaluate(async (url) => {
      window.seen = []
      const client = (window.client = await window.echostream.createClient({ url }))
      client.rpc.handle('page.sum', async (items: AsyncIterable<number>) => {
        let total = 0
        for await (const n of items) total += n
        return total
      })
      // An iterable that says when it is closed (a generator not yet started skips its finally).
      const iterable = (name: string) => ({
        [Symbol.asyncIterator]: () => ({
          next: async () => ({ done: false, value: 1 }),
          return: async () => {
            window.seen.push(`${name} closed`)
            return { done: true, value: undefined }
          },
        }),
      })
      client.rpc.handle('page.count', () => iterable('page.count'))
      await client.start()
      const code = (e: { code?: string }) => e.code ?? String(e)
      const read = async (stream: AsyncIterable<unknown>) => {
        try {
          for await (const item of stream) return `read ${String(item)}`
          return 'ended'
        } catch (e) {
          return code(e as { code?: string })
        }
      }
      return {
        stream: await read(client.rpc.stream('count')),
        // A call that cannot even start fails with its own code, not the refusal.
        badStream: await read(client.rpc.stream('')),
        streamResult: await client.rpc.stream('count').result.then(() => 'resolved', code),
        unaryOfStream: await client.rpc.request('count').then((s: AsyncIterable<unknown>) => read(s), code),
        input: await client.rpc.request('sum', iterable('numbers')).then(() => 'resolved', code),
        plain: await client.rpc.request('sum', [1, 2]),
      }
    }, srv.url!)
    expect(out).toEqual({ stream: 'E_CONFIG', badStream: 'E_INVALID_ARGUMENT', streamResult: 'E_CONFIG', unaryOfStream: 'E_CONFIG', input: 'E_CONFIG', plain: 3 })
    const session = srv.sessions()[0]!
    async function* numbers() {
      yield 1
      yield 2
    }
    const refusal = await session.request('page.sum', numbers()).catch((e: EchoError) => e)
    expect(refusal).toMatchObject({ code: 'E_CONFIG' })
    // A production message: its full text in ERRORS.md says what to do.
    const id = /^(\w{4})\b/.exec((refusal as EchoError).message)![1]
    expect(readFileSync(new URL('../../presets/browser/ERRORS.md', import.meta.url), 'utf8')).toMatch(new RegExp(`\`${id}\` \\| plugins/rpc/src/errors\\.ts \\| Streaming RPC .* load echostream-full\\.js`))
    await expect(session.request('page.count')).rejects.toMatchObject({ code: 'E_CONFIG' })
    // Nothing left running: the server's generators were closed, the page's too.
    await until(() => log.filter((l) => l === 'count closed').length === 3, 5000, `the server's generators closed: ${log.join(', ')}`)
    expect(await page.evaluate(() => window.seen.sort())).toEqual(['numbers closed', 'page.count closed'])
    // The session goes on: a plain call after all of it.
    expect(await session.request('page.sum', [4, 5])).toBe(9)
    await page.evaluate(() => window.client.stop())
    expect(errors).toEqual([])
    // The full bundle streams both ways.
    const full = await harness.newPage()
    const streamed = await full.page.evaluate(async (url) => {
      const client = (window.client = await window.echostream.createClient({ url }))
      await client.start()
      const items: unknown[] = []
      for await (const item of client.rpc.stream('count')) if (items.push(item) === 3) break
      async function* numbers() {
        yield 1
        yield 2
      }
      const total = await client.rpc.request('sum', numbers())
      await client.stop()
      return { items, total }
    }, srv.url!)
    expect(streamed).toEqual({ items: [0, 1, 2], total: 3 })
    expect(full.errors).toEqual([])
  })

  it('events both ways and rooms: only members hear a room, nothing else arrives', async () => {
    const srv = await server()
    const heard: Array<[string, unknown]> = []
    srv.events.on('chat', (data: unknown, session: Session) => heard.push([session.id, data]))
    srv.rpc.handle('room.join', (room: string, ctx: { session: Session }) => void ctx.session.join(room))
    const pages = [await harness.newPage(), await harness.newPage()]
    const ids: string[] = []
    for (const [i, { page }] of pages.entries()) {
      ids.push(
        await page.evaluate(async ({ url, i }) => {
          window.seen = []
          const client = (window.client = await window.echostream.createClient({ url }))
          for (const name of ['news', 'all', 'barrier']) client.events.on(name, (data: unknown) => window.seen.push([name, data]))
          await client.start()
          if (i === 0) await client.rpc.request('room.join', 'members')
          client.events.emit('chat', { from: i, text: 'hi' })
          return client.session.id
        }, { url: srv.url!, i }),
      )
    }
    await until(() => heard.length === 2, 5000, 'both chat events')
    expect(heard).toEqual([
      [ids[0], { from: 0, text: 'hi' }],
      [ids[1], { from: 1, text: 'hi' }],
    ])
    srv.events.to('members').emit('news', { n: 1 })
    srv.events.broadcast('all', 'everyone')
    srv.events.broadcast('barrier', null)
    for (const { page } of pages) await page.waitForFunction(() => window.seen.some(([name]: [string]) => name === 'barrier'))
    expect(await pages[0]!.page.evaluate(() => window.seen)).toEqual([['news', { n: 1 }], ['all', 'everyone'], ['barrier', null]])
    expect(await pages[1]!.page.evaluate(() => window.seen)).toEqual([['all', 'everyone'], ['barrier', null]])
    for (const { page, errors } of pages) {
      await page.evaluate(() => window.client.stop())
      expect(errors).toEqual([])
    }
  })

  it('stop() closes cleanly: code 1000 at once on the server, no browser error, no resume kept', async () => {
    const srv = await server()
    const closes: Array<{ code: number; at: number }> = []
    srv.hooks.disconnect.tap('test', (_session, info) => void closes.push({ code: info.code, at: performance.now() }))
    const suspended: string[] = []
    srv.reconnect.on('suspended', (data) => suspended.push(String(data.sessionId)))
    const { page, errors } = await harness.newPage()
    await page.evaluate(async (url) => {
      window.client = await window.echostream.createClient({ url })
      await window.client.start()
    }, srv.url!)
    const before = performance.now()
    const state = await page.evaluate(async () => {
      await window.client.stop()
      return window.client.state
    })
    await until(() => closes.length === 1, 2000, 'the server to see the close')
    expect(state).toBe('stopped')
    expect(closes[0]!.code).toBe(1000)
    expect(closes[0]!.at - before).toBeLessThan(500)
    expect(suspended).toEqual([])
    expect(srv.sessions()).toEqual([])
    expect(errors).toEqual([])
  })

  it('backpressure does not poll: no timer wake-ups while quiet, a few per second while congested (a 5 ms poll: 200)', async () => {
    // Every timer callback in the page is counted (whoever set it), over 1 s with nothing to send
    // and over 1 s with a writer waiting on a socket whose peer reads nothing (a proxy stops
    // forwarding). The transport replaced a fixed 5 ms poll, which wakes 200 times per congested
    // second; its timer runs only while someone waits and backs off to 4 per second.
    const srv = await server()
    const proxy = await startProxy(srv.url!)
    onCleanup(() => proxy.close())
    // The core bundle: clock sync's samples (a few timers a second at first) would blur the count.
    const { page } = await harness.newPage({ bundle: 'core' })
    await page.evaluate(async (url) => {
      window.client = await window.echostream.createClient({ url, options: { reconnect: false } })
      await window.client.start()
      const w = window as unknown as { wakeups: number; sleep: (ms: number) => Promise<void> }
      const original = window.setTimeout.bind(window)
      w.wakeups = 0
      w.sleep = (ms) => new Promise((resolve) => original(resolve, ms))
      window.setTimeout = ((fn: (...a: unknown[]) => void, ms?: number, ...rest: unknown[]) => original((...a: unknown[]) => (w.wakeups++, fn(...a)), ms, ...rest)) as typeof setTimeout
      window.setInterval = (() => {
        throw new Error('setInterval is not expected on the client')
      }) as unknown as typeof setInterval
    }, proxy.url)
    const quiet = await page.evaluate(async () => {
      const w = window as unknown as { wakeups: number; sleep: (ms: number) => Promise<void> }
      w.wakeups = 0
      await w.sleep(1000)
      return w.wakeups
    })
    proxy.blackhole()
    // What can leave the page at most while the proxy reads nothing: the page socket's send buffer
    // and the proxy socket's receive buffer at the kernel's largest sizes, and what Chromium's
    // network process holds between the page and its socket (a frame or two; 8 MiB is far above
    // it, 2 MiB measured). The page sends that much and two high-water marks more, so its buffer
    // stays above the high-water mark however fast or slowly the rest leaves (under load the
    // network process can be slow to take it: "congested for 100 ms" was not "full"). Raw
    // messages on the connection: its backpressure is what is measured, and the kernel's
    // outbound budget (8 MiB) would close this session as a slow consumer first.
    const capacity = socketBufferMax() + 8 * 1024 * 1024
    const congested = await page.evaluate(async (capacity) => {
      const w = window as unknown as { wakeups: number; sleep: (ms: number) => Promise<void>; released: boolean }
      const connection = window.client.session.connection
      const chunk = new Uint8Array(64 * 1024)
      const target = Math.min(capacity + 2 * connection.highWaterMark, 128 * 1024 * 1024)
      let sent = 0
      while (sent < target) {
        connection.send(chunk)
        sent += chunk.byteLength
      }
      // Start the measured second once the network took what it could (the level stopped
      // moving; bounded: 10 s): the assertions on the level do not depend on it, the wake-up
      // count is the one of a link that makes no progress.
      for (let i = 0, last = -1; i < 50 && connection.bufferedAmount !== last; i++) {
        last = connection.bufferedAmount
        await w.sleep(200)
      }
      w.released = false
      void connection.whenWritable().then(() => (w.released = true))
      w.wakeups = 0
      await w.sleep(1000)
      return { wakeups: w.wakeups, buffered: connection.bufferedAmount, highWaterMark: connection.highWaterMark, released: w.released, sentMiB: sent / 1024 / 1024 }
    }, capacity)
    console.log(`page timer wake-ups: ${quiet} in 1 s quiet, ${congested.wakeups} in 1 s congested (${congested.sentMiB} MiB sent, ${congested.buffered} bytes buffered); a 5 ms poll: 200`)
    const seen = JSON.stringify({ quiet, ...congested, capacity })
    expect(congested.sentMiB * 1024 * 1024 - congested.buffered, seen).toBeLessThanOrEqual(capacity) // the bound held
    expect(congested.buffered, seen).toBeGreaterThanOrEqual(congested.highWaterMark)
    expect(congested.released, seen).toBe(false)
    expect(quiet, seen).toBeLessThanOrEqual(2)
    expect(congested.wakeups, seen).toBeGreaterThan(0)
    expect(congested.wakeups, seen).toBeLessThanOrEqual(20)
    // The link dies: the waiter is released (writes then fail on their own).
    proxy.drop()
    await page.waitForFunction(() => (window as unknown as { released: boolean }).released)
  })
})
