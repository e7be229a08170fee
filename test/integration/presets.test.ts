/**
 * Boot test per preset (STYLE rule 14): each preset package is named in a config, assembled into a
 * server, its plugin order asserted exactly, then started and called by a client on the same preset
 * over a real socket on port 0. The lan preset's mDNS stays on 127.0.0.1 and port 5354 (TOOLCHAIN
 * "mDNS without leaking"): its own defaults would multicast on every interface.
 */
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { type EchoConfig } from '@echostream/kernel'
import { resolveConfig } from '@echostream/node'
import { createClient, createServer } from '../helpers/create.js'
import type {} from '@echostream/preset-default'
import type {} from '@echostream/preset-lan'
import type {} from '@echostream/preset-realtime'
import { track, until } from '../helpers/fixtures.js'

/** test/, whose node_modules holds the presets: package specifiers resolve from here. */
const TEST_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')

const DEFAULT_ORDER = ['transport-ws', 'codec-msgpack', 'rpc', 'events']
const LOOPBACK_MDNS = { interface: '127.0.0.1', mdnsPort: 5354 }

async function boot(preset: string, options: EchoConfig['options'] = {}) {
  const server = track(await createServer({ preset, options: { 'transport-ws': { port: 0, host: '127.0.0.1' }, ...options } }, { cwd: TEST_ROOT }))
  server.rpc.handle('echo', (params: unknown) => params)
  await server.start()
  return server
}

async function connect(preset: string, url: string | undefined, options: EchoConfig['options'] = {}) {
  const client = track(await createClient({ preset, url, options }, { cwd: TEST_ROOT }))
  await client.start()
  return client
}

describe('preset boot', () => {
  it('@echostream/preset-default: transport, codec, rpc, events', async () => {
    const server = await boot('@echostream/preset-default')
    expect(server.plugins().map((p) => p.name)).toEqual(['transport-ws', 'codec-msgpack', 'rpc', 'events'])
    const client = await connect('@echostream/preset-default', server.url)
    expect(await client.rpc.request('echo', { n: 1 })).toEqual({ n: 1 })
  })

  it('@echostream/preset-minimal: transport, codec, rpc', async () => {
    const server = await boot('@echostream/preset-minimal')
    expect(server.plugins().map((p) => p.name)).toEqual(['transport-ws', 'codec-msgpack', 'rpc'])
    const client = await connect('@echostream/preset-minimal', server.url)
    expect(await client.rpc.request('echo', 'x')).toBe('x')
  })

  it('@echostream/preset-lan: default + discovery-mdns; a client without url finds the server (mDNS on loopback)', async () => {
    const server = await boot('@echostream/preset-lan', { 'discovery-mdns': { ...LOOPBACK_MDNS, name: 'preset-boot-lan' } })
    expect(server.plugins().map((p) => p.name)).toEqual([...DEFAULT_ORDER, 'discovery-mdns'])
    // The user's layer won over the preset's host and interface.
    const options = Object.fromEntries(server.plugins().map((p) => [p.name, p.options]))
    expect(options['transport-ws']).toMatchObject({ host: '127.0.0.1' })
    expect(options['discovery-mdns']).toMatchObject({ interface: '127.0.0.1', mdnsPort: 5354 })

    const client = await connect('@echostream/preset-lan', undefined, { 'discovery-mdns': { ...LOOPBACK_MDNS, service: 'preset-boot-lan', timeoutMs: 5000 } })
    expect(client.url).toBe(server.url)
    expect(await client.rpc.request('echo', 'found')).toBe('found')
  })

  it('@echostream/preset-realtime: default + clock-sync + streams; a stream and the synced clock work', async () => {
    const server = await boot('@echostream/preset-realtime')
    expect(server.plugins().map((p) => p.name)).toEqual([...DEFAULT_ORDER, 'clock-sync', 'streams'])
    const received: Array<{ seq: number; data: unknown }> = []
    server.streams.handle('numbers', async (stream) => {
      for await (const frame of stream) received.push({ seq: frame.seq, data: frame.data })
    })
    const client = await connect('@echostream/preset-realtime', server.url)
    await client.clock.whenSynced({ samples: 1, timeoutMs: 5000 })
    expect(client.clock.synced).toBe(true)
    const writer = await client.streams.open<number>('numbers')
    for (const n of [1, 2, 3]) await writer.write(n)
    await writer.end()
    await until(() => received.length === 3, 5000, 'three stream frames')
    expect(received).toEqual([
      { seq: 0, data: 1 },
      { seq: 1, data: 2 },
      { seq: 2, data: 3 },
    ])
  })

  it("the presets' documented defaults reach the plugins, and the user's options win", async () => {
    const plugins = async (config: EchoConfig) => Object.fromEntries((await resolveConfig(config, 'server', { cwd: TEST_ROOT })).plugins.map((p) => [p.definition.name, p.options ?? {}]))
    // resolveConfig only assembles: no plugin is set up, so nothing binds or multicasts here.
    const lan = await plugins({ preset: '@echostream/preset-lan' })
    expect(lan['transport-ws']).toEqual({ host: '0.0.0.0' })
    expect(lan['discovery-mdns']).toEqual({ interface: 'all' })
    const realtime = await plugins({ preset: '@echostream/preset-realtime', options: { 'transport-ws': { pingIntervalMs: 1000 } } })
    expect(realtime['transport-ws']).toEqual({ pingIntervalMs: 1000, pingTimeoutMs: 5000 })
    expect(await plugins({ preset: '@echostream/preset-default' })).toEqual({ 'transport-ws': {}, 'codec-msgpack': {}, rpc: {}, events: {} })
  })
})
