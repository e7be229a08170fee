/**
 * What a session may send, over real sockets (dispatcher and one worker in this process): every
 * utterance gets a receipt — queued, or refused with a code that says what to do — and a refused
 * one changes nothing for the others; bad options fail with E_CONFIG; the README's option table
 * is the schema.
 */
import { readFileSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { createClient, createServer } from '@echostream/kernel'
import presetDefault from '@echostream/preset-default'
import streams from '@echostream/plugin-streams'
import { startDispatcher, type Dispatcher } from '../src/dispatcher.js'
import { infer, utteranceAudio } from '../src/model.js'
import { resolveOptions, schema } from '../src/options.js'
import { openSession } from '../src/session.js'
import { startWorker, type Worker } from '../src/worker.js'

const stops: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => {})
})

async function setup(options: Parameters<typeof startDispatcher>[0] = {}): Promise<{ dispatcher: Dispatcher; worker: Worker }> {
  const worker = await startWorker({ id: 'solo', capabilities: ['recognise'], slots: 2, delay: { minMs: 5, meanMs: 10, maxMs: 40 }, heartbeatMs: 100 })
  stops.push(() => worker.stop())
  const dispatcher = await startDispatcher({ workers: [worker.url], metrics: { port: 0 }, logLevel: 'silent', ...options })
  stops.push(() => dispatcher.stop())
  return { dispatcher, worker }
}

describe('sessions', () => {
  it('refuses duplicate, far-ahead, oversize, non-binary and unserved utterances with codes; the rest still arrive in order', async () => {
    const { dispatcher } = await setup({ maxAhead: 8, maxUtteranceBytes: 1000, capabilities: ['recognise'] })
    const session = await openSession(dispatcher.url)
    stops.push(() => session.close())
    const audio = (i: number) => utteranceAudio(i, 2, 200)

    await session.send(0, 'recognise', audio(0))
    await expect(session.send(0, 'recognise', audio(0))).rejects.toMatchObject({ code: 'E_DUPLICATE', message: expect.stringContaining('already sent') })
    await expect(session.send(50, 'recognise', audio(50))).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT', message: expect.stringContaining('maxAhead') })
    await expect(session.send(1, 'recognise', utteranceAudio(1, 3, 400))).rejects.toMatchObject({ code: 'E_PAYLOAD_TOO_LARGE' })
    await expect(session.send(1, 'translate', audio(1))).rejects.toMatchObject({ code: 'E_CAPABILITY' })
    // Meta that breaks the schema is refused at open by the streams plugin: the handler never runs.
    await expect(session.send(-1, 'recognise', audio(1))).rejects.toMatchObject({ code: 'E_INVALID_PAYLOAD' })
    await expect(session.send(1, 'Not A Capability', audio(1))).rejects.toMatchObject({ code: 'E_INVALID_PAYLOAD' })
    // The refused index 1 can be sent again, properly.
    await session.send(2, 'recognise', audio(2))
    await session.send(1, 'recognise', audio(1))
    const results = await session.waitFor(3, 10_000)
    expect(results.map((r) => [r.index, r.text])).toEqual([0, 1, 2].map((i) => [i, infer('recognise', Buffer.concat(audio(i)))]))

    // Text frames are not audio: a raw client writing a string gets the refusal as its stream's error.
    const raw = await createClient({ preset: presetDefault, plugins: [streams], url: dispatcher.url })
    stops.push(() => raw.stop())
    await raw.start()
    const writer = await raw.streams.open('utterance', { index: 0, capability: 'recognise' })
    await writer.write('not audio').catch(() => {})
    await new Promise<void>((resolve) => (writer.signal.aborted ? resolve() : writer.signal.addEventListener('abort', () => resolve(), { once: true })))
    expect(writer.signal.reason).toMatchObject({ code: 'E_INVALID_PARAMS' })
    expect(dispatcher.stats()).toMatchObject({ open: 0, queueDepth: 0, delivered: 3 })
  })

  it("drops a closed session's jobs and keeps serving the others", async () => {
    const { dispatcher, worker } = await setup()
    const leaving = await openSession(dispatcher.url)
    const staying = await openSession(dispatcher.url)
    stops.push(() => staying.close())
    await Promise.all(Array.from({ length: 20 }, (_, i) => leaving.send(i, 'recognise', utteranceAudio(i, 1, 64))))
    await leaving.close()
    for (let i = 0; i < 5; i++) await staying.send(i, 'recognise', utteranceAudio(100 + i, 1, 64))
    const results = await staying.waitFor(5, 10_000)
    expect(results.map((r) => r.index)).toEqual([0, 1, 2, 3, 4])
    const deadline = Date.now() + 10_000
    while ((dispatcher.stats().open > 0 || worker.active > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    expect(dispatcher.stats()).toMatchObject({ open: 0, queueDepth: 0, sessions: 1 })
  })
})

describe('workers', () => {
  it('uses a worker reached under two URLs once, and /readyz says when no worker is ready', async () => {
    const worker = await startWorker({ id: 'twice', capabilities: ['recognise'], slots: 2, heartbeatMs: 100 })
    stops.push(() => worker.stop())
    const dispatcher = await startDispatcher({ workers: [worker.url, `${worker.url}/`], metrics: { port: 0 }, logLevel: 'silent', backoff: { initialMs: 20, maxMs: 100 } })
    stops.push(() => dispatcher.stop())
    const readyz = async () => {
      const response = await fetch(dispatcher.metricsUrl.replace('/metrics', '/readyz'))
      return { status: response.status, body: (await response.json()) as { failing: Record<string, string> } }
    }
    // Both links connect; the second to register finds its twin ready and waits as a spare ('down').
    const deadline = Date.now() + 10_000
    const states = () => dispatcher.workers().map((w) => w.state).sort()
    while (states().join() !== 'down,ready' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    expect(states()).toEqual(['down', 'ready']) // one link, two slots: capacity is not doubled
    expect((await readyz()).status).toBe(200)

    await worker.stop()
    while (dispatcher.workers().some((w) => w.state === 'ready') && Date.now() < deadline + 10_000) await new Promise((r) => setTimeout(r, 20))
    expect(await readyz()).toEqual({ status: 503, body: expect.objectContaining({ failing: { workers: 'no worker registered' } }) })
  })
})

describe('hostile workers', () => {
  it('a worker answering garbage is never registered, or fails its jobs with codes: nothing hangs or crashes', async () => {
    // Registers with a bad hello: never used.
    const liar = await createServer({ preset: presetDefault, options: { 'transport-ws': { port: 0 } } })
    liar.rpc.handle('worker.hello', () => ({ id: 5, capabilities: 'all', slots: -1 }))
    await liar.start()
    stops.push(() => liar.stop())
    // Registers properly, then answers every job with something that is not its result, and heartbeats garbage.
    const broken = await createServer({ preset: presetDefault, options: { 'transport-ws': { port: 0 } } })
    broken.rpc.handle('worker.hello', () => ({ id: 'broken', capabilities: ['recognise'], slots: 1 }))
    broken.rpc.handle('job.run', () => ({ jobId: 'someone-else', text: 42 }))
    await broken.start()
    stops.push(() => broken.stop())
    const garbage = setInterval(() => {
      broken.events.broadcast('worker.heartbeat', { id: 'broken', active: 0, completed: 0, capabilities: ['recognise'] })
      broken.events.broadcast('worker.heartbeat', 'x')
      broken.events.broadcast('worker.heartbeat', { capabilities: [1, { a: 2 }], active: 'many' })
    }, 50)
    stops.push(async () => clearInterval(garbage))

    const dispatcher = await startDispatcher({ workers: [liar.url!, broken.url!], maxAttempts: 2, metrics: { port: 0 }, logLevel: 'silent', backoff: { initialMs: 50, maxMs: 200 } })
    stops.push(() => dispatcher.stop())
    const deadline = Date.now() + 10_000
    while (!dispatcher.workers().some((w) => w.state === 'ready') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    expect(dispatcher.workers().find((w) => w.url === liar.url)?.state).not.toBe('ready')
    expect(dispatcher.workers().find((w) => w.url === broken.url)).toMatchObject({ state: 'ready', id: 'broken', capabilities: ['recognise'] })

    const session = await openSession(dispatcher.url)
    stops.push(() => session.close())
    await session.send(0, 'recognise', utteranceAudio(0, 1, 64))
    const [result] = await session.waitFor(1, 10_000)
    expect(result).toMatchObject({ index: 0, attempts: 2, error: { code: 'E_JOB_FAILED', message: expect.stringContaining('E_PROTOCOL') } })
    expect(dispatcher.workers().find((w) => w.url === broken.url)).toMatchObject({ state: 'ready', capabilities: ['recognise'] }) // garbage heartbeats changed nothing
  })
})

describe('worker', () => {
  it('answers bad job calls with codes: bad params, a capability it lacks, more than its slots', async () => {
    const worker = await startWorker({ id: 'strict', capabilities: ['recognise'], slots: 1, delay: { minMs: 200, meanMs: 1, maxMs: 300 }, heartbeatMs: 100 })
    stops.push(() => worker.stop())
    const client = await createClient({ preset: presetDefault, url: worker.url })
    stops.push(() => client.stop())
    await client.start()
    expect(await client.rpc.request('worker.hello')).toEqual({ id: 'strict', capabilities: ['recognise'], slots: 1 })
    await expect(client.rpc.request('job.run', { jobId: 1, audio: 'x' })).rejects.toMatchObject({ code: 'E_INVALID_PARAMS' })
    await expect(client.rpc.request('job.run', null)).rejects.toMatchObject({ code: 'E_INVALID_PARAMS' })
    const job = (id: string, capability = 'recognise') => client.rpc.request('job.run', { jobId: id, attempt: 1, capability, audio: new Uint8Array([1, 2]) })
    await expect(job('a', 'translate')).rejects.toMatchObject({ code: 'E_CAPABILITY' })
    const first = job('b')
    await expect(job('c')).rejects.toMatchObject({ code: 'E_BUSY' })
    expect(await first).toMatchObject({ jobId: 'b', worker: 'strict', text: infer('recognise', new Uint8Array([1, 2])) })
    expect(worker.active).toBe(0)
  })
})

describe('options', () => {
  it('applies defaults and refuses unknown or bad options with E_CONFIG', () => {
    expect(resolveOptions({})).toMatchObject({ port: 0, workers: [], discovery: { enabled: false, interface: '127.0.0.1', mdnsPort: 5353 }, heartbeatTimeoutMs: 1500, maxAttempts: 5, backoff: { initialMs: 100, maxMs: 2000 } })
    expect(() => resolveOptions({ bogus: 1 } as never)).toThrow(expect.objectContaining({ code: 'E_CONFIG', message: expect.stringContaining('bogus') }))
    expect(() => resolveOptions({ workers: ['http://x'] })).toThrow(expect.objectContaining({ code: 'E_CONFIG' }))
  })

  it("the README's option table lists exactly the schema, with its defaults", () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
    const section = readme.slice(readme.indexOf('## Options'), readme.indexOf('\n## ', readme.indexOf('## Options') + 5))
    const rows = new Map([...section.matchAll(/^\| `([\w.]+)` \| [^|]+ \| ([^|]+) \|/gm)].map((m) => [m[1]!, m[2]!.trim()]))
    const expected = new Map<string, unknown>()
    for (const [key, prop] of Object.entries(schema.properties) as Array<[string, { default?: unknown; properties?: Record<string, { default?: unknown }> }]>) {
      if (prop.properties) for (const [sub, p] of Object.entries(prop.properties)) expected.set(`${key}.${sub}`, p.default)
      else expected.set(key, prop.default)
    }
    expect([...rows.keys()].sort()).toEqual([...expected.keys()].sort())
    for (const [key, value] of expected) expect(rows.get(key), key).toBe(`\`${JSON.stringify(value).replace(/"/g, "'")}\``)
  })
})
