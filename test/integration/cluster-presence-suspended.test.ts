/**
 * presenceWhileSuspended: false — a session whose connection was lost leaves presence at once
 * (reason 'suspended', heard on every node), not when the grace period ends; its resume joins
 * again. With the default (true) a suspended session stays present (the earlier behaviour).
 */
import { describe, expect, it } from 'vitest'
import type { Session } from '@echostream/kernel'
import type { PresenceChange } from '@echostream/plugin-cluster'
import { createClient, createServer } from '../helpers/create.js'
import presetCluster from '@echostream/preset-cluster'
import { startRedis } from '../helpers/redis.js'
import { track, until } from '../helpers/fixtures.js'

function cut(session: Session): void {
  ;(session as unknown as { connection: { socket: { terminate(): void } } }).connection.socket.terminate()
}

async function node(redisUrl: string, id: string, presenceWhileSuspended: boolean, heard: PresenceChange[]) {
  const server = track(
    await createServer({
      preset: presetCluster,
      options: { 'transport-ws': { host: '127.0.0.1', port: 0 }, cluster: { redisUrl, nodeId: id, heartbeatMs: 100, nodeTtlMs: 1000, presenceWhileSuspended }, reconnect: { graceMs: 60_000 } },
    }),
  )
  server.cluster.on('presence', (change) => void heard.push(change))
  server.rpc.handle('join', (room: string, ctx: { session: Session }) => ctx.session.join(room))
  await server.start()
  return server
}

describe('cluster: presence of suspended sessions', () => {
  for (const whileSuspended of [false, true]) {
    it(`presenceWhileSuspended: ${whileSuspended}`, async () => {
      const redis = await startRedis()
      const heardOnB: PresenceChange[] = []
      const a = await node(redis.url, 'a', whileSuspended, [])
      const b = await node(redis.url, 'b', whileSuspended, heardOnB)
      // The client comes back to node a only after a while: the grace period is far longer.
      const client = track(await createClient({ preset: presetCluster, options: { cluster: { urls: [a.url!] }, reconnect: { initialDelayMs: 1500, maxDelayMs: 1500, jitter: 0 } } }))
      await client.start()
      await client.rpc.request('join', 'lobby')
      const id = client.session!.id
      const mine = () => heardOnB.filter((c) => c.sessionId === id)
      await until(() => mine().some((c) => c.room === 'lobby' && c.type === 'join'), 5000, 'the joins heard on b')
      const resumed = new Promise((resolve) => client.reconnect.on('reconnected', resolve))
      const cutAt = Date.now()
      cut(client.session!)
      if (!whileSuspended) {
        await until(() => mine().filter((c) => c.type === 'leave').length === 2, 1400, 'the leaves (online and lobby) on b before the client is back')
        expect(Date.now() - cutAt).toBeLessThan(1400)
        expect(mine().filter((c) => c.type === 'leave').map((c) => [c.room, c.reason]).sort()).toEqual([['', 'suspended'], ['lobby', 'suspended']])
        expect((await b.cluster.online()).map((m) => m.sessionId)).not.toContain(id)
      }
      expect(await resumed).toMatchObject({ recovered: true })
      if (!whileSuspended) await until(() => mine().filter((c) => c.type === 'join').length === 4, 5000, 'the joins after the resume')
      expect((await b.cluster.online()).map((m) => m.sessionId)).toContain(id)
      expect((await b.cluster.presence('lobby')).map((m) => m.sessionId)).toContain(id)
      if (whileSuspended) expect(mine().filter((c) => c.type === 'leave')).toEqual([])
    })
  }
})
