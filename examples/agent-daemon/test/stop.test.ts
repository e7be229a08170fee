/**
 * "stop" mid-stream: the user's word reaches the connector, which aborts its streaming call; the
 * runtime's ctx.signal aborts the provider's generation. Measured, all real processes: the abort
 * lands between the connector's stop and the reply to the call it makes right after (one round
 * trip of the runtime API), the provider produces nothing after it, and the user's reply ends as
 * cancelled with no token after the end.
 */
import { describe, expect, it } from 'vitest'
import { seededTokens } from '../src/provider/provider.js'
import type { LogEntry } from '../src/daemon/logs.js'
import type { GenerationRecord } from '../src/daemon/runtime.js'
import { admin, agent, startDaemon, startPlatform, textOf, until, User, writeDaemonConfig } from './harness.js'

describe('agent daemon: stop', () => {
  it('cancels the generation within one round trip', async () => {
    const platform = await startPlatform()
    const model = { seed: 1, maxTokens: 400, tokenDelayMs: 25, jitterMs: 5 }
    const daemon = await startDaemon(writeDaemonConfig(platform.url, [agent('talker', { model })]))
    const alice = await User.connect(platform.url, 'alice')
    const control = await admin(daemon.state.adminUrl)

    const id = await alice.send('room', 'tell me everything')
    await until(() => (alice.reply(`r-${id}`)?.deltas.length ?? 0) >= 5, 20_000, 'five tokens')
    const sentStopAt = performance.now()
    await alice.send('room', 'stop')
    const reply = alice.reply(`r-${id}`)!
    await until(() => reply.end !== undefined, 10_000, 'the reply to end')
    const stopToEndMs = performance.now() - sentStopAt
    const platformRttMs = await alice.connection.ping()

    expect(reply.end!.reason).toBe('cancelled')
    const full = seededTokens({ system: '', prompt: 'tell me everything', model })
    expect(full.length).toBeGreaterThan(100) // ~3 s of tokens: the stop lands mid-stream
    expect(textOf(reply)).toEqual(full.slice(0, reply.deltas.length)) // in order, a prefix of the reply
    expect(reply.deltas.length).toBeLessThan(full.length)
    expect(reply.deltas.every((d) => d.at <= reply.endedAt!)).toBe(true)

    // The daemon's own marks (one process, one clock): stop ≤ provider aborted ≤ reply to the next call.
    let logs: LogEntry[] = []
    const fetchLogs = async () => (logs = (await control.rpc.request('admin.logs', { limit: 50 })) as LogEntry[])
    for (let i = 0; i < 200 && !(await fetchLogs()).some((l) => l.msg === 'stop acknowledged'); i++) await new Promise((r) => setTimeout(r, 50))
    const requested = logs.find((l) => l.msg === 'stop requested')!
    const acknowledged = logs.find((l) => l.msg === 'stop acknowledged')!
    const cancelled = logs.find((l) => l.msg === 'generation cancelled')!
    expect(requested && acknowledged && cancelled).toBeTruthy()
    const [record] = (await control.rpc.request('admin.generations', { limit: 1 })) as GenerationRecord[]
    expect(record).toMatchObject({ agent: 'talker', finish: 'cancelled', tokensAfterAbort: 0 })
    const stopPerf = requested.stopPerf as number
    const ackPerf = acknowledged.ackPerf as number
    expect(record!.abortedPerf).toBeGreaterThanOrEqual(stopPerf)
    expect(record!.abortedPerf).toBeLessThanOrEqual(ackPerf)
    expect(record!.endedPerf).toBeLessThanOrEqual(ackPerf)
    // the provider stopped: far fewer tokens than the reply has, and none after the abort
    expect(record!.tokens).toBeLessThan(full.length)
    expect(record!.tokens).toBeGreaterThanOrEqual(reply.deltas.length)
    console.log(
      `stop: provider aborted ${(record!.abortedPerf! - stopPerf).toFixed(1)} ms after the connector's stop; ` +
        `runtime round trip ${(ackPerf - stopPerf).toFixed(1)} ms; user's stop → cancelled end ${stopToEndMs.toFixed(1)} ms ` +
        `(platform round trip ${platformRttMs.toFixed(1)} ms); ${record!.tokens} of ${full.length} tokens generated, ${reply.deltas.length} delivered`,
    )

    // The conversation carries on: the next message gets its whole reply.
    const next = await alice.ask('room', 'short one then', 30_000)
    expect(textOf(next)).toEqual(seededTokens({ system: '', prompt: 'short one then', model }))

    // "stop" with nothing running says so.
    await alice.send('room', 'stop')
    await until(() => alice.posts.some((p) => p.text === 'Nothing to stop.'), 10_000, 'the nothing-to-stop notice')
  })
})
