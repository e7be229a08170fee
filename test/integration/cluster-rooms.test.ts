/**
 * Must show 1: rooms, broadcast and presence across three server processes on one Redis — each
 * event received exactly once, a node receives only the rooms it hosts, presence seen from every
 * node, and the members of a SIGKILLed node reported as leaves once.
 */
import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import type { EchoKernel } from '@echostream/kernel'
import { startRedis } from '../helpers/redis.js'
import { clusterClient, startNode, until, type NodeProcess } from '../helpers/cluster.js'

function collect(client: EchoKernel, name: string): unknown[] {
  const got: unknown[] = []
  client.events.on(name, (data: unknown) => got.push(data))
  return got
}

describe('cluster: rooms, broadcast and presence across three processes', () => {
  it('delivers room events and broadcasts once to members on every node; presence everywhere; a dead node’s members leave', async () => {
    const redis = await startRedis()
    const nodes: NodeProcess[] = await Promise.all(['a', 'b', 'c'].map((id) => startNode(redis.url, id)))
    const [a, b, c] = nodes as [NodeProcess, NodeProcess, NodeProcess]
    // Two clients per node; the first of each joins 'chat', the first of a and b also 'news'.
    const clients = await Promise.all(nodes.flatMap((n) => [clusterClient([n.url]), clusterClient([n.url])]))
    const chat = clients.map((cl) => collect(cl, 'chat'))
    const all = clients.map((cl) => collect(cl, 'all'))
    const barrier = clients.map((cl) => collect(cl, 'barrier'))
    const ids = await Promise.all(clients.map(async (cl) => (await cl.rpc.request('whoami', null)) as { node: string; sessionId: string }))
    const inChat = [0, 2, 4]
    const inNews = [0, 2]
    for (const i of inChat) await clients[i]!.rpc.request('join', 'chat')
    for (const i of inNews) await clients[i]!.rpc.request('join', 'news')
    await clients[1]!.rpc.request('join', 'other') // a second room on node a, which b and c do not host

    // Presence, read on each node, lists every member with its node.
    for (const node of nodes) {
      const members = (await node.command<Array<{ sessionId: string; node: string }>>('presence', { room: 'chat' })).map((m) => `${m.node}:${m.sessionId}`).sort()
      expect(members).toEqual(inChat.map((i) => `${ids[i]!.node}:${ids[i]!.sessionId}`).sort())
    }
    // Every node heard every join.
    for (const node of nodes) {
      await until(() => node.of('presence').filter((p) => p.change === 'join' && p.room === 'chat').length >= 3, 5000, `joins seen on ${node.id}`)
      expect(node.of('presence').filter((p) => p.change === 'join' && p.room === 'chat').map((p) => p.sessionId).sort()).toEqual(inChat.map((i) => ids[i]!.sessionId).sort())
    }

    // 40 events to 'chat' from node b (which hosts one member); one event to ['chat', 'news'].
    for (let n = 1; n <= 40; n++) await b.command('roomEmit', { room: 'chat', name: 'chat', data: n })
    // Order holds per channel (plugins/cluster README), and 'both' also travels on 'news': an emit
    // returns before its publish reaches Redis, so c's 'both' could pass b's last 'chat' events on
    // the way to client 0, a member of both (seen in a clean-clone CI run: 39, 'both', 40).
    await until(() => inChat.every((i) => chat[i]!.length === 40), 10_000, "b's 40 chat events everywhere")
    await c.command('roomEmit', { room: ['chat', 'news'], name: 'chat', data: 'both' })
    await a.command('broadcast', { name: 'all', data: 'hello' })
    await c.command('broadcast', { name: 'barrier', data: 1 })
    await until(() => barrier.every((got) => got.length === 1), 10_000, 'barrier everywhere')

    const expected = [...Array.from({ length: 40 }, (_, i) => i + 1), 'both']
    for (let i = 0; i < clients.length; i++) {
      if (inChat.includes(i)) expect(chat[i], `client ${i} in chat`).toEqual(expected)
      else expect(chat[i], `client ${i} not in chat`).toEqual([])
      expect(all[i]).toEqual(['hello'])
    }

    // A node subscribes only to the rooms it hosts: 'chat' on a, b, c; 'news' on a, b; 'other' on a.
    const numsub = execFileSync('redis-cli', ['-p', String(redis.port), 'PUBSUB', 'NUMSUB', 'es:r:chat', 'es:r:news', 'es:r:other'], { encoding: 'utf8' }).trim().split('\n')
    expect(numsub).toEqual(['es:r:chat', '3', 'es:r:news', '2', 'es:r:other', '1'])

    // Leaving is seen on every node.
    await clients[4]!.rpc.request('leave', 'chat')
    for (const node of nodes) await until(() => node.of('presence').some((p) => p.change === 'leave' && p.room === 'chat' && p.sessionId === ids[4]!.sessionId), 5000, `leave seen on ${node.id}`)

    // Node c dies: its members (clients 4 and 5 online, nobody else in chat) are reported as leaves, once, everywhere.
    await c.kill('SIGKILL')
    for (const node of [a, b]) {
      await until(() => node.of('presence').filter((p) => p.change === 'leave' && p.reason === 'expired' && p.room === '').length >= 2, 10_000, `expiry leaves seen on ${node.id}`)
    }
    for (const node of [a, b]) {
      const expired = node.of('presence').filter((p) => p.change === 'leave' && p.reason === 'expired')
      expect(expired.map((p) => `${p.room}:${p.sessionId}`).sort()).toEqual([`:${ids[4]!.sessionId}`, `:${ids[5]!.sessionId}`].sort())
    }
    const online = (await a.command<Array<{ sessionId: string }>>('online')).map((m) => m.sessionId).sort()
    expect(online).toEqual(ids.slice(0, 4).map((i) => i.sessionId).sort())
    const chatNow = (await b.command<Array<{ sessionId: string }>>('presence', { room: 'chat' })).map((m) => m.sessionId).sort()
    expect(chatNow).toEqual([ids[0]!.sessionId, ids[2]!.sessionId].sort())
    for (const node of [a, b]) expect(node.of('node-down').map((l) => l.node)).toEqual(['c'])
  })
})
