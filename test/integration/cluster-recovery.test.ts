/**
 * Must show 4: when a resume on another node is impossible — the grace period expired, or the
 * session's replay log was trimmed past what the client missed — the client's app is told
 * explicitly (reconnect's `recovered: false` and the cluster's `recovery` event with the reason),
 * and the session goes on as a new one.
 */
import { describe, expect, it } from 'vitest'
import type { Connection } from '@echostream/kernel'
import { startRedis } from '../helpers/redis.js'
import { clusterClient, startNode, until, type NodeProcess } from '../helpers/cluster.js'

describe('cluster: recovery impossible is explicit', () => {
  it('grace expired after the node died: recovered false, reason expired', async () => {
    const redis = await startRedis()
    const options = { reconnect: { graceMs: 300 }, cluster: { heartbeatMs: 100, nodeTtlMs: 400 } }
    const [a, b] = (await Promise.all(['a', 'b'].map((id) => startNode(redis.url, id, options)))) as [NodeProcess, NodeProcess]
    // The client waits longer than grace + node TTL before its first attempt.
    const client = await clusterClient([a.url, b.url], { initialDelayMs: 1500, maxDelayMs: 1500, jitter: 0 })
    const recoveries: Array<Record<string, unknown>> = []
    const reconnected: Array<Record<string, unknown>> = []
    client.cluster.on('recovery', (e) => recoveries.push(e))
    client.reconnect.on('reconnected', (e) => reconnected.push(e))
    const before = client.session!.id
    await client.rpc.request('join', 'room')
    await a.kill('SIGKILL')
    await until(() => reconnected.length === 1, 10_000, 'reconnected')
    expect(reconnected[0]).toMatchObject({ recovered: false })
    expect(recoveries).toEqual([expect.objectContaining({ recovered: false, reason: 'expired', node: 'b' })])
    expect(client.session!.id).not.toBe(before)
    expect(await client.rpc.request('whoami', null)).toEqual({ node: 'b', sessionId: client.session!.id })
    expect(b.of('recovery')).toEqual([expect.objectContaining({ recovered: false, reason: 'expired' })])
  })

  it('replay log trimmed: the client missed more than replayFrames; recovered false, reason trimmed', async () => {
    const redis = await startRedis()
    const options = { cluster: { replayFrames: 10 } }
    const [a, b] = (await Promise.all(['a', 'b'].map((id) => startNode(redis.url, id, options)))) as [NodeProcess, NodeProcess]
    const client = await clusterClient([a.url, b.url], { initialDelayMs: 600, maxDelayMs: 600, jitter: 0 })
    const recoveries: Array<Record<string, unknown>> = []
    const reconnected: Array<Record<string, unknown>> = []
    const got: number[] = []
    client.cluster.on('recovery', (e) => recoveries.push(e))
    client.reconnect.on('reconnected', (e) => reconnected.push(e))
    client.events.on('n', (n: number) => got.push(n))
    const sid = client.session!.id
    // The link drops; while the client is away, node a sends it 30 events (logged, not delivered).
    ;(client.session as unknown as { connection: Connection }).connection.close(4008, 'test: link lost (as a ping timeout)')
    for (let i = 0; i < 100; i++) {
      if ((await a.command('sessionState', { sid })) === 'suspended') break
      await new Promise((r) => setTimeout(r, 10))
    }
    expect(await a.command('burst', { sid, name: 'n', count: 30 })).toBe('suspended')
    // It comes back on node b, which can replay only the last 10.
    await until(() => reconnected.length === 1, 10_000, 'reconnected')
    expect(reconnected[0]).toMatchObject({ recovered: false })
    expect(recoveries).toEqual([expect.objectContaining({ recovered: false, reason: 'trimmed', node: 'b' })])
    expect(got).toEqual([])
    expect(await client.rpc.request('whoami', null)).toMatchObject({ node: 'b' })
  })
})
