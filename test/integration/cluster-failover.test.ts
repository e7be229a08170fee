/**
 * Must show 2 and 3: a node is SIGKILLed mid-traffic and its clients resume on another node (then
 * that one is killed too: a second resume, on a third node). Numbered events both ways and RPCs
 * are counted: nothing acknowledged is lost, nothing is duplicated or reordered, every pending
 * call settles once, and a call sent again after the failover does not run again.
 */
import { describe, expect, it } from 'vitest'
import type { EchoKernel, Frame } from '@echostream/kernel'
import { startRedis } from '../helpers/redis.js'
import { clusterClient, startNode, until, type NodeProcess } from '../helpers/cluster.js'
import { sleep } from '../helpers/fixtures.js'

interface Probe {
  client: EchoKernel
  ticks: number[]
  recoveries: Array<Record<string, unknown>>
  reconnected: Array<Record<string, unknown>>
  /** rpc.req frames sent for 'op': request id → n. */
  opIds: Map<number, number>
  /** Replies seen on the wire, by request id. */
  replies: Map<number, Frame[]>
  settled: Map<number, { value?: unknown; code?: string; times: number }>
  upsSent: number
}

function probe(client: EchoKernel): Probe {
  const p: Probe = { client, ticks: [], recoveries: [], reconnected: [], opIds: new Map(), replies: new Map(), settled: new Map(), upsSent: 0 }
  client.events.on('tick', (data: { n: number }) => p.ticks.push(data.n))
  client.cluster.on('recovery', (e) => p.recoveries.push(e))
  client.reconnect.on('reconnected', (e) => p.reconnected.push(e))
  client.hooks.outbound.tap('test', (frame: Frame | null) => {
    if (frame?.kind === 'rpc.req' && frame.name === 'op') p.opIds.set(frame.id!, (frame.payload as { n: number }).n)
    return frame
  })
  client.hooks.inbound.tap('test', (frame: Frame | null) => {
    if (frame && (frame.kind === 'rpc.res' || frame.kind === 'rpc.err')) p.replies.set(frame.id!, [...(p.replies.get(frame.id!) ?? []), frame])
    return frame
  })
  return p
}

function call(p: Probe, n: number, delayMs = 0): Promise<void> {
  return p.client.rpc.request('op', { n, delayMs }, { timeoutMs: 20_000 }).then(
    (value) => {
      const s = p.settled.get(n)
      p.settled.set(n, { value, times: (s?.times ?? 0) + 1 })
    },
    (error: { code?: string }) => {
      const s = p.settled.get(n)
      p.settled.set(n, { code: error.code, times: (s?.times ?? 0) + 1 })
    },
  )
}

describe('cluster: failover to another node with exactly-once both ways', () => {
  it('SIGKILL a node mid-traffic, then the next: clients resume twice; 0 lost, 0 duplicated, 0 out of order', async () => {
    const redis = await startRedis()
    const [a, b, c] = (await Promise.all(['a', 'b', 'c'].map((id) => startNode(redis.url, id)))) as [NodeProcess, NodeProcess, NodeProcess]
    const urls = [a.url, b.url, c.url]
    const probes = await Promise.all([1, 2, 3].map(async () => probe(await clusterClient(urls))))
    const sids: string[] = []
    for (const p of probes) {
      expect(await p.client.rpc.request('join', 'feed')).toBe('a')
      sids.push(p.client.session!.id)
    }

    // Node c (never killed) publishes 300 numbered events to the room; each client sends 250 numbered events and makes calls.
    const TICKS = 300
    const UPS = 250
    await c.command('ticker', { room: 'feed', name: 'tick', count: TICKS, intervalMs: 10 })
    const calls: Array<Promise<void>> = []
    let opN = 0
    const senders = probes.map((p) =>
      setInterval(() => {
        if (p.upsSent < UPS) p.client.events.emit('up', ++p.upsSent)
        if (p.upsSent % 10 === 0 && p.upsSent < UPS) calls.push(call(p, ++opN))
      }, 10),
    )
    try {
      await sleep(800)
      // A call that is running on node a when it dies: it must settle once, as interrupted.
      const longN = 100_000
      const long = call(probes[0]!, longN, 5000)
      await until(() => a.of('ran').some((l) => l.n === longN), 5000, 'long call running on a')
      await a.kill('SIGKILL')
      await until(() => probes.every((p) => p.reconnected.length === 1), 15_000, 'every client resumed once')
      for (const p of probes) expect(p.reconnected[0]).toMatchObject({ recovered: true })
      for (const p of probes) expect(await p.client.rpc.request('whoami', null)).toMatchObject({ node: 'b' })
      await long
      expect(probes[0]!.settled.get(longN)).toMatchObject({ code: 'E_INTERRUPTED', times: 1 })

      await sleep(700)
      await b.kill('SIGKILL')
      await until(() => probes.every((p) => p.reconnected.length === 2), 15_000, 'every client resumed a second time')
      for (const p of probes) expect(p.reconnected[1]).toMatchObject({ recovered: true })
      for (const p of probes) expect(await p.client.rpc.request('whoami', null)).toMatchObject({ node: 'c', sessionId: p.client.session!.id })

      await until(() => probes.every((p) => p.upsSent >= UPS), 15_000, 'all ups sent')
      await until(() => c.of('ticker-done').length === 1, 15_000, 'ticker done')
      await Promise.all(calls)
    } finally {
      for (const timer of senders) clearInterval(timer)
    }

    // A request sent again after the failovers (same id) gets its stored result and does not run again.
    const retried = probes[1]!
    const [retryId, retryN] = [...retried.opIds].find(([, n]) => a.of('ran').some((l) => l.n === n && l.sid === retried.client.session!.id))!
    const ranBefore = c.of('ran').length
    retried.client.session!.send({ kind: 'rpc.req', id: retryId, name: 'op', payload: { n: retryN } })
    await until(() => (retried.replies.get(retryId)?.length ?? 0) >= 2, 5000, 'the stored result of the retried call')
    expect(retried.replies.get(retryId)![1]).toMatchObject({ kind: 'rpc.res', payload: retryN * 2 })

    // Barrier: everything sent before it has arrived.
    for (const p of probes) p.client.events.emit('up', -1)
    await until(() => probes.every((p, i) => c.of('up').some((l) => l.sid === sids[i] && l.n === -1)), 10_000, 'barrier ups')
    // And the other way: 'ticker done' is node c's log line, the last ticks still travel through
    // Redis to each client. Wait for them (a real loss then shows as the exact diff below).
    await until(() => probes.every((p) => p.ticks.at(-1) === TICKS), 10_000, 'the last tick at every client').catch(() => {})
    expect(c.of('ran').length).toBe(ranBefore)

    if (process.env.CLUSTER_DEBUG) {
      for (const [i, p] of probes.entries()) {
        const per = [a, b, c].map((n) => n.of('up').filter((l) => l.sid === sids[i]).length)
        const ups = [a, b, c].map((n) => n.of('up').filter((l) => l.sid === sids[i]).map((l) => l.n as number))
        const all = ups.flat()
        const missing = Array.from({ length: UPS }, (_, k) => k + 1).filter((n) => !all.includes(n))
        const dups = all.filter((n, k) => all.indexOf(n) !== k)
        console.log(`client ${i}: missing ${missing} dups ${dups} edges a ${ups[0]!.at(-1)} b ${ups[1]![0]}..${ups[1]!.at(-1)} c ${ups[2]![0]}`)
        console.log(`client ${i}: ticks ${p.ticks.length} from ${p.ticks[0]}, ups per node ${per}, calls ${p.settled.size}, replies ${[...p.replies.values()].flat().length}`)
      }
    }
    for (const [i, p] of probes.entries()) {
      // Server → client: the room's events, contiguous from the first after the join to the last, once each.
      const first = p.ticks[0]!
      expect(p.ticks, `client ${i} ticks`).toEqual(Array.from({ length: TICKS - first + 1 }, (_, k) => first + k))
      // Client → server: every numbered event handled once at most, in order, across the three nodes;
      // one is missing only if the node that died had received it and it was reported in doubt (the
      // crash fell between recording it and running its handler), to the server and to the client.
      const ups = [a, b, c].flatMap((n) => n.of('up').filter((l) => l.sid === sids[i]).map((l) => l.n as number))
      const inDoubt = [b, c].flatMap((n) => n.of('gap').filter((g) => g.scope === 'session' && g.sessionId === sids[i]))
      const doubtful = inDoubt.reduce((sum, g) => sum + (g.to as number) - (g.from as number) + 1, 0)
      const missing = Array.from({ length: UPS }, (_, k) => k + 1).filter((n) => !ups.includes(n))
      expect(missing.length, `client ${i}: missing ups ${missing} beyond the ${doubtful} reported in doubt`).toBeLessThanOrEqual(doubtful)
      expect(p.recoveries.filter((r) => r.inDoubt).length).toBe(inDoubt.length)
      expect(ups, `client ${i} ups in order, once`).toEqual([...Array.from({ length: UPS }, (_, k) => k + 1).filter((n) => !missing.includes(n)), -1])
      // Every call settled once; none ran twice.
      for (const [n, s] of p.settled) {
        expect(s.times, `op ${n} settled once`).toBe(1)
        if (n === 100_000) continue
        // A quick call can also be running on a node at the moment it is killed (seen once in a
        // full run): then it settles with E_INTERRUPTED, as documented — only if it ran there.
        if (s.code === 'E_INTERRUPTED') expect([a, b].some((node) => node.of('ran').some((l) => l.n === n && l.sid === sids[i])), `op ${n} interrupted, but it never ran on a node that died`).toBe(true)
        else expect(s, `op ${n}`).toMatchObject({ value: n * 2 })
      }
      const ran = [a, b, c].flatMap((n) => n.of('ran').filter((l) => l.sid === sids[i]).map((l) => l.n as number))
      expect(new Set(ran).size, `client ${i}: no call ran twice`).toBe(ran.length)
      expect(p.recoveries.filter((r) => r.recovered === false)).toEqual([])
    }
  })
})
