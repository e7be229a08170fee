/**
 * Custom TXT properties over real mDNS on loopback (this file's own port): a server's `properties`
 * reach `discover()` and `discover$()` as `txt.properties`; `setProperties()` is announced at once
 * (a watch sees the server `up` again with the new values, and a fresh `discover()` gets them);
 * bad properties fail with codes that say what is wrong.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { createClient, createServer } from '../helpers/create.js'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import discovery, { type DiscoveryEvent } from '@echostream/plugin-discovery-mdns'
import { track } from '../helpers/fixtures.js'
import { loopback, mdnsGroupOutsideLoopback, nextWithin, udpSockets, uniqueName } from '../helpers/discovery-net.js'

const MDNS_PORT = 5375
const WAIT = 15_000 // probing takes ~1 s and the machine is noisy; nothing here asserts speed
const mdns = loopback(MDNS_PORT)

async function server(options: Record<string, unknown>) {
  const kernel = track(await createServer({ plugins: [transportWs, codecMsgpack, [discovery, { ...mdns, ...options }]] }))
  await kernel.start()
  return kernel
}

async function observer() {
  return track(await createClient({ plugins: [transportWs, codecMsgpack, [discovery, mdns]] }))
}

afterAll(() => {
  expect(udpSockets(MDNS_PORT) ?? 0).toBe(0)
  expect(mdnsGroupOutsideLoopback()).toEqual([])
})

describe('custom TXT properties', () => {
  it('are advertised, found by discover(), and changed live with setProperties()', async () => {
    const name = uniqueName('props')
    // The schema refuses a non-ASCII key before the plugin runs, naming the option.
    await expect(server({ name, properties: { caps: 'recognise', région: 'x' } })).rejects.toMatchObject({ code: 'E_CONFIG', message: expect.stringContaining('properties') })

    const worker = await server({ name, properties: { caps: 'recognise', slots: '2', Zone: 'eu west' } })
    const advertisement = await worker.discovery.advertised()
    expect(advertisement.properties).toEqual({ caps: 'recognise', slots: '2', Zone: 'eu west' })
    expect(advertisement.txt).toMatchObject({ name, caps: 'recognise', slots: '2', Zone: 'eu west' })
    expect(worker.discovery.properties).toEqual(advertisement.properties)

    const finder = await observer()
    const [found] = await finder.discovery.discover(name, { timeoutMs: 2000 })
    expect(found?.url).toBe(worker.url)
    expect(found!.txt.properties).toEqual({ caps: 'recognise', slots: '2', Zone: 'eu west' })
    expect(found!.txt.name).toBe(name) // the plugin's own fields are not properties
    expect(found!.txt.properties).not.toHaveProperty('name')

    const watch = finder.discovery.discover$(name)
    const up: DiscoveryEvent = await nextWithin(watch, WAIT, 'up with the first properties')
    expect(up.service.txt.properties.caps).toBe('recognise')

    worker.discovery.setProperties({ caps: 'recognise,translate', slots: '4' })
    expect(worker.discovery.advertisement!.properties).toEqual({ caps: 'recognise,translate', slots: '4' })
    expect(worker.discovery.advertisement!.txt).not.toHaveProperty('Zone')
    const changed = await nextWithin(watch, WAIT, 'up with the changed properties')
    expect(changed).toMatchObject({ type: 'up', service: { instance: up.service.instance, url: worker.url } })
    expect(changed.service.txt.properties).toEqual({ caps: 'recognise,translate', slots: '4' })
    await watch.return!()

    // A new browser asks and gets the changed record from the responder (not only the announcement).
    const [again] = await finder.discovery.discover(name, { timeoutMs: 2000 })
    expect(again!.txt.properties).toEqual({ caps: 'recognise,translate', slots: '4' })
  })

  it('refuses properties that cannot be advertised, with codes and every problem named', async () => {
    const name = uniqueName('bad')
    const worker = await server({ name, properties: { caps: 'a' } })
    let thrown: unknown
    try {
      worker.discovery.setProperties({ Name: 'x', caps: '', 'a=b': 'c', big: 'v'.repeat(300) })
    } catch (error) {
      thrown = error
    }
    expect(thrown).toMatchObject({ code: 'E_INVALID_ARGUMENT' })
    const message = (thrown as Error).message
    for (const part of ['"Name"', 'reserved', '"caps" must be a non-empty string', '"a=b"', '"big"=… is 304 bytes']) expect(message).toContain(part)
    expect(worker.discovery.properties).toEqual({ caps: 'a' }) // unchanged

    // The record as a whole is bounded too (RFC 6763 §6.2): six long properties do not fit.
    const many = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`k${i}`, 'v'.repeat(210)]))
    expect(() => worker.discovery.setProperties(many)).toThrow(/1300/)

    // In the option: setup fails with E_CONFIG naming the problem.
    await expect(createServer({ plugins: [transportWs, codecMsgpack, [discovery, { ...mdns, name, properties: { codec: 'json' } }]] })).rejects.toMatchObject({
      code: 'E_CONFIG',
      message: expect.stringContaining("key \"codec\" is written by the plugin itself"),
    })

    // Nothing to change on a client, or on a server that does not advertise.
    const client = await observer()
    expect(() => client.discovery.setProperties({ a: 'b' })).toThrow(expect.objectContaining({ code: 'E_STATE' }))
    const quiet = await server({ name: `${name}-quiet`, advertise: false })
    expect(() => quiet.discovery.setProperties({ a: 'b' })).toThrow(expect.objectContaining({ code: 'E_STATE' }))
    await worker.stop()
    expect(() => worker.discovery.setProperties({ a: 'b' })).toThrow(expect.objectContaining({ code: 'E_STATE' }))
  })
})
