/**
 * Boot test of @echostream/preset-cluster (STYLE rule 14): plugin order asserted exactly, two
 * servers on one Redis, a client on the same preset with both URLs, an event from one node
 * reaching a room member on the other.
 */
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { createClient, createServer } from '../helpers/create.js'
import type {} from '@echostream/preset-cluster'
import { track, until } from '../helpers/fixtures.js'
import { startRedis } from '../helpers/redis.js'

const TEST_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')

describe('preset boot: @echostream/preset-cluster', () => {
  it('default + reconnect + cluster; a room event crosses nodes', async () => {
    const redis = await startRedis()
    const servers = await Promise.all(
      ['one', 'two'].map(async (nodeId) => {
        const server = track(await createServer({ preset: '@echostream/preset-cluster', options: { 'transport-ws': { port: 0, host: '127.0.0.1' }, cluster: { redisUrl: redis.url, nodeId } } }, { cwd: TEST_ROOT }))
        server.rpc.handle('join', (room: string, ctx) => {
          ctx.session.join(room)
          return server.cluster.nodeId
        })
        await server.start()
        return server
      }),
    )
    expect(servers[0]!.plugins().map((p) => p.name)).toEqual(['transport-ws', 'codec-msgpack', 'rpc', 'events', 'reconnect', 'cluster'])
    expect(servers[0]!.cluster.health()).toMatchObject({ ready: true, node: 'one' })

    const client = track(await createClient({ preset: '@echostream/preset-cluster', options: { cluster: { urls: [servers[1]!.url!, servers[0]!.url!] } } }, { cwd: TEST_ROOT }))
    await client.start()
    expect(client.url).toBe(servers[1]!.url)
    expect(await client.rpc.request('join', 'lobby')).toBe('two')
    expect(client.cluster.nodeId).toBe('two')
    const got: unknown[] = []
    client.events.on('hello', (data: unknown) => got.push(data))
    servers[0]!.events.to('lobby').emit('hello', 'from one')
    await until(() => got.length === 1, 5000, 'the event from node one')
    expect(got).toEqual(['from one'])
  })
})
