/**
 * Routing: emit and request to a session on another node (and to an app user id), and the coded
 * failures — a session that is gone fails at once with E_SESSION_GONE, a request pending on a node
 * that dies fails with E_NODE_LOST when its death is seen, long before the request's timeout.
 */
import { describe, expect, it } from 'vitest'
import { startRedis } from '../helpers/redis.js'
import { clusterClient, startNode, until, type NodeProcess } from '../helpers/cluster.js'
import { sleep } from '../helpers/fixtures.js'

describe('cluster: routing to sessions on other nodes', () => {
  it('emit, request and user emits cross nodes; gone and dead targets fail with codes, not timeouts', async () => {
    const redis = await startRedis()
    const [a, b] = (await Promise.all(['a', 'b'].map((id) => startNode(redis.url, id)))) as [NodeProcess, NodeProcess]
    const onB = await clusterClient([b.url])
    const second = await clusterClient([b.url])
    const got: unknown[] = []
    onB.events.on('note', (data: unknown) => got.push(data))
    second.events.on('note', (data: unknown) => got.push(`second:${data}`))
    onB.rpc.handle('add', ({ x, y }: { x: number; y: number }) => x + y)
    onB.rpc.handle('hang', () => new Promise(() => {}))
    const sid = onB.session!.id

    // From node a to a session held by node b.
    expect(await a.command('sessionEmit', { sid, name: 'note', data: 'hi' })).toBe(true)
    expect(await a.command('sessionRequest', { sid, method: 'add', params: { x: 2, y: 3 } })).toBe(5)
    await until(() => got.length === 1, 5000, 'the routed emit')
    expect(got).toEqual(['hi'])
    // A client's own errors come back with their codes.
    expect((await a.attempt('sessionRequest', { sid, method: 'nope', params: null })).error).toMatchObject({ code: 'E_METHOD_NOT_FOUND' })

    // An app user id mapped to two sessions: both get it.
    await onB.rpc.request('login', 'ada')
    await second.rpc.request('login', 'ada')
    expect(await a.command('userEmit', { user: 'ada', name: 'note', data: 'all of ada' })).toBe(2)
    await until(() => got.length === 3, 5000, 'the user emits')
    expect(got.slice(1).sort()).toEqual(['all of ada', 'second:all of ada'])

    // Unknown, and ended (client.stop() closes with 1000: the session ends everywhere): gone, at once.
    const started = Date.now()
    expect((await a.attempt('sessionEmit', { sid: 'no-such-session', name: 'note', data: 1 })).error).toMatchObject({ code: 'E_SESSION_GONE' })
    const secondId = second.session!.id
    await second.stop()
    await sleep(300) // the server hears the close (1000) and ends the session
    expect((await a.attempt('sessionRequest', { sid: secondId, method: 'add', params: { x: 1, y: 1 }, timeoutMs: 20_000 })).error).toMatchObject({ code: 'E_SESSION_GONE' })
    expect(Date.now() - started).toBeLessThan(3000)

    // A request pending on node b when it dies: E_NODE_LOST once the death is seen (node TTL 1 s), not at 20 s.
    const pending = a.attempt('sessionRequest', { sid, method: 'hang', params: null, timeoutMs: 20_000 })
    await new Promise((r) => setTimeout(r, 200))
    const killedAt = Date.now()
    await b.kill('SIGKILL')
    expect((await pending).error).toMatchObject({ code: 'E_NODE_LOST' })
    expect(Date.now() - killedAt).toBeLessThan(5000)
    // Its session is now held by no live node: routing says so at once (retryable), not a timeout.
    expect((await a.attempt('sessionEmit', { sid, name: 'note', data: 2 })).error).toMatchObject({ code: 'E_SESSION_OFFLINE', retryable: true })
  })
})
