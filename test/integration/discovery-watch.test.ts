/**
 * Must show 1, second half: `discover$` reports a second server appearing and the first going away
 * (its goodbye on stop). Real mDNS on loopback, this file's own port.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { createClient, createServer } from '../helpers/create.js'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import discovery, { type DiscoveryEvent } from '@echostream/plugin-discovery-mdns'
import { track } from '../helpers/fixtures.js'
import { loopback, mdnsGroupOutsideLoopback, nextWithin, udpSockets, uniqueName } from '../helpers/discovery-net.js'

const MDNS_PORT = 5372
const WAIT = 15_000 // generous: probing takes ~1 s and the machine is noisy; nothing here asserts speed

async function server(name: string) {
  const kernel = track(await createServer({ plugins: [transportWs, codecMsgpack, [discovery, { ...loopback(MDNS_PORT), name }]] }))
  await kernel.start()
  return kernel
}

describe('discover$', () => {
  afterAll(() => {
    expect(udpSockets(MDNS_PORT) ?? 0).toBe(0) // every Bonjour socket of this process is closed
    expect(mdnsGroupOutsideLoopback()).toEqual([])
  })

  it('reports a second server appearing and the first going away', async () => {
    const name = uniqueName('watch')
    // An observer that never starts: discovery works on any kernel.
    const observer = track(await createClient({ plugins: [transportWs, codecMsgpack, [discovery, loopback(MDNS_PORT)]] }))
    const sockets = udpSockets(MDNS_PORT) // 0, or undefined without `ss`
    const watch = observer.discovery.discover$(name)

    const a = await server(name)
    const upA: DiscoveryEvent = await nextWithin(watch, WAIT, 'up for server A')
    expect(upA.type).toBe('up')
    expect(upA.service).toMatchObject({ name, url: a.url, address: '127.0.0.1', port: Number(new URL(a.url!).port) })
    expect(upA.service.instance).toBe(a.discovery.advertisement!.instance)

    // Another name on the same network is not reported to this watch.
    const other = await server(`${name}-other`)
    await other.discovery.advertised()

    const b = await server(name)
    const upB = await nextWithin(watch, WAIT, 'up for server B')
    expect(upB).toMatchObject({ type: 'up', service: { name, url: b.url } })
    expect(upB.service.instance).not.toBe(upA.service.instance)

    await a.stop() // sends the goodbye (TTL 0) before closing its socket
    const downA = await nextWithin(watch, WAIT, 'down for server A')
    expect(downA).toMatchObject({ type: 'down', service: { instance: upA.service.instance, url: a.url } })
    // A stopped kernel keeps the API: it advertises nothing and refuses to browse, with a code.
    expect(a.discovery.advertisement).toBeUndefined()
    await expect(a.discovery.discover({ timeoutMs: 10 })).rejects.toMatchObject({ code: 'E_STATE' })

    if (sockets !== undefined) expect(udpSockets(MDNS_PORT)).toBe(sockets + 3) // watch + b + other; a's is closed

    // Closing the iterator ends it and closes its socket.
    await watch.return!()
    expect(await watch.next()).toEqual({ value: undefined, done: true })
    if (sockets !== undefined) expect(udpSockets(MDNS_PORT)).toBe(sockets + 2)
    await b.stop()
    await other.stop()
    await observer.stop()
    if (sockets !== undefined) expect(udpSockets(MDNS_PORT)).toBe(0)
  })

  it('reports servers that were up before it started, and ends when the kernel stops', async () => {
    const name = uniqueName('watch')
    const a = await server(name)
    await a.discovery.advertised()
    const observer = track(await createClient({ plugins: [transportWs, codecMsgpack, [discovery, loopback(MDNS_PORT)]] }))
    const controller = new AbortController()
    const watch = observer.discovery.discover$(name, { signal: controller.signal })
    const up = await nextWithin(watch, WAIT, 'up for the server already advertising')
    expect(up).toMatchObject({ type: 'up', service: { name, url: a.url } })
    const pending = watch.next()
    await observer.stop() // closes every open watch
    expect(await pending).toEqual({ value: undefined, done: true })
    controller.abort() // harmless after the end
  })

  it('loaded into a listening server it advertises at once; unloading it says goodbye', async () => {
    const name = uniqueName('watch')
    const observer = track(await createClient({ plugins: [transportWs, codecMsgpack, [discovery, loopback(MDNS_PORT)]] }))
    const watch = observer.discovery.discover$(name)
    const kernel = track(await createServer({ plugins: [transportWs, codecMsgpack] }))
    await kernel.start()
    await kernel.load(discovery, { ...loopback(MDNS_PORT), name })
    expect(await nextWithin(watch, WAIT, 'up after load')).toMatchObject({ type: 'up', service: { url: kernel.url } })
    await kernel.unload('discovery-mdns')
    expect(await nextWithin(watch, WAIT, 'down after unload')).toMatchObject({ type: 'down', service: { url: kernel.url } })
    expect(kernel.discovery).toBeUndefined()
    await watch.return!()
  })

  it('a break out of for-await stops browsing; an aborted signal ends the iteration', async () => {
    const name = uniqueName('watch')
    const observer = track(await createClient({ plugins: [transportWs, codecMsgpack, [discovery, loopback(MDNS_PORT)]] }))
    const sockets = udpSockets(MDNS_PORT)
    const a = await server(name)
    await a.discovery.advertised()
    for await (const event of observer.discovery.discover$(name)) {
      expect(event.service.url).toBe(a.url)
      break
    }
    const controller = new AbortController()
    const watch = observer.discovery.discover$(`${name}-nobody`, { signal: controller.signal })
    const next = watch.next()
    controller.abort()
    expect(await next).toEqual({ value: undefined, done: true })
    await watch.return!() // closing is awaitable; the socket is gone afterwards
    if (sockets !== undefined) expect(udpSockets(MDNS_PORT)).toBe(sockets + 1) // only the server's
  })
})
