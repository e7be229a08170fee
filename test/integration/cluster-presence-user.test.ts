/**
 * Presence carries the app's user id at once: a session bound to a user after its handshake
 * (`cluster.bindUser`, e.g. a login by call) is announced again on every node with its user, and
 * `online()` lists it with the user — not only at the next heartbeat. A plain refresh announces
 * nothing (every join heard stays meaningful).
 */
import { describe, expect, it } from 'vitest'
import { startRedis } from '../helpers/redis.js'
import { clusterClient, startNode, until, type NodeProcess } from '../helpers/cluster.js'

describe('cluster: presence follows bindUser', () => {
  it('a session bound to a user after its handshake is announced with the user on every node', async () => {
    const redis = await startRedis()
    const [a, b] = (await Promise.all(['a', 'b'].map((id) => startNode(redis.url, id, { cluster: { heartbeatMs: 5000, nodeTtlMs: 20_000 } })))) as [NodeProcess, NodeProcess]
    const client = await clusterClient([a.url])
    const { sessionId } = (await client.rpc.request('whoami', null)) as { sessionId: string }
    const online = (node: NodeProcess) => node.of('presence').filter((p) => p.room === '' && p.sessionId === sessionId)
    await until(() => online(b).length === 1, 5000, 'the anonymous join on b')
    expect(online(b)[0]).toMatchObject({ change: 'join' })
    expect(online(b)[0]!.user).toBeUndefined()

    await client.rpc.request('login', 'ada')
    // well before the 5 s heartbeat
    await until(() => online(b).length === 2, 2000, 'the join with the user on b')
    expect(online(b)[1]).toMatchObject({ change: 'join', user: 'ada', node: 'a' })
    expect(await b.command('online')).toEqual(expect.arrayContaining([expect.objectContaining({ sessionId, user: 'ada' })]))
    // binding the same user again changes nothing and announces nothing
    await client.rpc.request('login', 'ada')
    await client.rpc.request('join', 'room')
    await until(() => b.of('presence').some((p) => p.room === 'room' && p.sessionId === sessionId), 5000, 'a later barrier: the room join')
    expect(online(b)).toHaveLength(2)
  })
})
