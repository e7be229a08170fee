/**
 * `discover(name, { timeoutMs })` returns what answered in time (with its TXT metadata), an empty
 * list when nothing does; a client with a configured url never browses; a client with no url and
 * no server gets a retryable E_CLOSED that says what to fix. Real mDNS on loopback, own port.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { EchoError, PROTOCOL_VERSION } from '@echostream/kernel'
import { createClient, createServer } from '../helpers/create.js'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import events from '@echostream/plugin-events'
import discovery from '@echostream/plugin-discovery-mdns'
import { track } from '../helpers/fixtures.js'
import { loopback, mdnsGroupOutsideLoopback, querySpy, udpSockets, uniqueName } from '../helpers/discovery-net.js'

const MDNS_PORT = 5373
const mdns = loopback(MDNS_PORT)

async function server(options: Record<string, unknown>, extra: unknown[] = []) {
  const kernel = track(await createServer({ plugins: [transportWs, codecMsgpack, ...(extra as never[]), [discovery, { ...mdns, ...options }]] }))
  await kernel.start()
  return kernel
}

async function client(options: Record<string, unknown>, url?: string) {
  return track(await createClient({ url, plugins: [transportWs, codecMsgpack, [discovery, { ...mdns, ...options }]] }))
}

afterAll(() => {
  expect(udpSockets(MDNS_PORT) ?? 0).toBe(0) // every Bonjour socket of this process is closed
  expect(mdnsGroupOutsideLoopback()).toEqual([])
})

describe('discover()', () => {
  it('resolves with an empty list, not a hang, when nothing answers', async () => {
    const finder = await client({})
    const started = Date.now()
    const found = await finder.discovery.discover(uniqueName('nobody'), { timeoutMs: 300 })
    expect(found).toEqual([])
    expect(Date.now() - started).toBeGreaterThanOrEqual(290)
    expect(Date.now() - started).toBeLessThan(10_000) // bounded by the timeout, not by the network
    expect(await finder.discovery.discover({ timeoutMs: 50, signal: AbortSignal.abort() })).toEqual([])
  })

  it('returns the servers that answered in time, with their TXT metadata, filtered by name', async () => {
    const name = uniqueName('find')
    const s = await server({ name, appVersion: '2.0.1' }, [events])
    const advertisement = await s.discovery.advertised()
    expect(advertisement).toMatchObject({ name, url: s.url, port: Number(new URL(s.url!).port) })
    const other = await server({ name: `${name}-other` })
    await other.discovery.advertised()

    const finder = await client({})
    const found = await finder.discovery.discover(name, { timeoutMs: 2000 })
    expect(found).toHaveLength(1)
    const [service] = found
    expect(service).toMatchObject({ name, instance: advertisement.instance, address: '127.0.0.1', port: advertisement.port, url: s.url })
    expect(service!.txt).toMatchObject({
      txtVersion: 1,
      name,
      protocol: PROTOCOL_VERSION,
      codec: 'msgpack',
      appVersion: '2.0.1',
      scheme: 'ws',
      path: '/',
      plugins: s.wirePlugins(),
    })
    expect(Object.keys(service!.txt.plugins)).toContain('events')

    // No name: every echostream server on this network answers.
    const all = (await finder.discovery.discover({ timeoutMs: 2000 })).map((x) => x.url)
    expect(all).toEqual(expect.arrayContaining([s.url, other.url]))
    // Once the server has stopped (goodbye sent), it is no longer found.
    await s.stop()
    expect((await finder.discovery.discover(name, { timeoutMs: 1000 })).map((x) => x.url)).toEqual([])
  })

  it('a server with advertise: false is not found', async () => {
    const name = uniqueName('quiet')
    const quiet = await server({ name, advertise: false })
    expect(quiet.discovery.advertisement).toBeUndefined()
    await expect(quiet.discovery.advertised()).rejects.toMatchObject({ code: 'E_STATE' })
    expect(await (await client({})).discovery.discover(name, { timeoutMs: 1000 })).toEqual([])
  })
})

describe('a client and discovery', () => {
  it('a configured url wins: it connects there and never browses', async () => {
    const name = uniqueName('url-wins')
    const advertised = await server({ name })
    await advertised.discovery.advertised()
    const configured = await server({ name: `${name}-configured`, advertise: false })
    const spy = await querySpy(MDNS_PORT)

    const c = await client({ service: name, timeoutMs: 5000 }, configured.url)
    await c.start()
    expect(c.url).toBe(configured.url)
    expect(configured.sessions()).toHaveLength(1)
    expect(advertised.sessions()).toHaveLength(0)
    await new Promise((r) => setTimeout(r, 300)) // a query sent during start would have arrived by now
    expect(spy.count).toBe(0)

    // Control: the spy does see browsing, so the zero above means something.
    await (await client({})).discovery.discover(name, { timeoutMs: 300 })
    expect(spy.count).toBeGreaterThan(0)
  })

  it('a client with no url connects to the server it discovers', async () => {
    const name = uniqueName('no-url')
    const s = await server({ name })
    const c = await client({ service: name, timeoutMs: 15_000 })
    await c.start()
    expect(c.url).toBe(s.url)
    expect(c.session?.state).toBe('open')
    expect(s.sessions().map((x) => x.id)).toEqual([c.session!.id])
  })

  it('a client with no url and no server fails with a retryable E_CLOSED saying what to fix', async () => {
    const name = uniqueName('absent')
    const c = await client({ service: name, timeoutMs: 400 })
    const error = await c.start().then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(EchoError.is(error)).toBe(true)
    expect(error).toMatchObject({ code: 'E_CLOSED', retryable: true })
    const message = (error as Error).message
    expect(message).toContain(`named '${name}'`)
    expect(message).toContain('interface 127.0.0.1')
    expect(message).toContain(`mDNS port ${MDNS_PORT}`)
    expect(message).toContain('Set `url`')
    expect(c.state).toBe('stopped')
  })

  it('an interface that is not on this machine is a clear E_CONFIG', async () => {
    const c = await client({ interface: '192.0.2.254' })
    await expect(c.discovery.discover({ timeoutMs: 100 })).rejects.toMatchObject({ code: 'E_CONFIG', message: expect.stringContaining("interface '192.0.2.254'") })
    const s = await createServer({ plugins: [transportWs, codecMsgpack, [discovery, { ...mdns, interface: '192.0.2.254' }]] })
    track(s)
    await expect(s.start()).rejects.toMatchObject({ code: 'E_CONFIG' })
  })

  it('an mDNS socket that cannot bind is a clear E_CONFIG, not a crash or a hang', async () => {
    const c = await client({ bind: '203.0.113.9' }) // not an address of this machine: EADDRNOTAVAIL
    await expect(c.discovery.discover({ timeoutMs: 10_000 })).rejects.toMatchObject({ code: 'E_CONFIG', message: expect.stringContaining('cannot open the mDNS socket') })
    await expect(c.start()).rejects.toMatchObject({ code: 'E_CONFIG' })
  })
})
