/**
 * A conversation through the fake platform, every part a real process: the user's message goes
 * platform → connector → runtime (streaming RPC) → agent → provider, and the reply's tokens come
 * back to the conversation one by one, in order, while the provider is still generating.
 */
import { connect } from 'node:net'
import { describe, expect, it } from 'vitest'
import { EchoError } from '@echostream/node'
import { finishOf, seededTokens } from '../src/provider/provider.js'
import { admin, agent, runtimeClient, startDaemon, startPlatform, textOf, until, User, writeDaemonConfig } from './harness.js'
import type { GenerationRecord } from '../src/daemon/runtime.js'

describe('agent daemon: a conversation through the fake platform', () => {
  // Real processes (the platform, the daemon) and a 40-token reply at 30 ms a token: 18 s under load.
  it('streams the reply token by token, in order, to every member of the conversation', { timeout: 120_000 }, async () => {
    const platform = await startPlatform()
    const helper = { id: 'helper', system: 'You are terse.', model: { seed: 11, maxTokens: 40, tokenDelayMs: 30, jitterMs: 10 } }
    const support = { id: 'support', conversations: ['support-*'], model: { seed: 99, maxTokens: 20, tokenDelayMs: 5, jitterMs: 2 } }
    const daemon = await startDaemon(writeDaemonConfig(platform.url, [agent('helper', helper), agent('support', support)]))
    const alice = await User.connect(platform.url, 'alice')
    const bob = await User.connect(platform.url, 'bob')
    await new Promise<void>((resolve) => {
      const off = bob.connection.on((m) => m.type === 'joined' && (off(), resolve()))
      bob.connection.send({ type: 'join', conversation: 'lobby' })
    })

    const reply = await alice.ask('lobby', 'What does a daemon do?')
    const expected = seededTokens({ system: helper.system, prompt: 'What does a daemon do?', model: helper.model })
    expect(expected.length).toBeGreaterThan(5)
    expect(textOf(reply)).toEqual(expected)
    expect(reply.deltas.map((d) => d.seq)).toEqual(expected.map((_, i) => i))
    expect(reply.end!.reason).toBe(finishOf({ system: helper.system, prompt: '', model: helper.model }, expected.length))
    // bob, another member of the conversation, saw the same stream
    await until(() => bob.reply(reply.id)?.end !== undefined, 10_000, "bob's copy of the reply")
    expect(textOf(bob.reply(reply.id)!)).toEqual(expected)

    // Streamed, not sent at the end: the first token reached alice before the provider produced the last one.
    const control = await admin(daemon.state.adminUrl)
    const [record] = (await control.rpc.request('admin.generations', { limit: 1 })) as GenerationRecord[]
    expect(record).toMatchObject({ agent: 'helper', conversation: 'lobby', finish: reply.end!.reason, tokens: expected.length, tokensAfterAbort: 0 })
    expect(reply.deltas[0]!.at).toBeLessThan(record!.endedAt!)
    const spreadMs = reply.deltas.at(-1)!.at - reply.deltas[0]!.at
    console.log(`streamed ${expected.length} tokens over ${spreadMs} ms (generation ${(record!.endedPerf! - record!.startedPerf).toFixed(0)} ms)`)

    // Routing: a conversation matching 'support-*' is the support agent's.
    const other = await alice.ask('support-42', 'my order is late')
    expect(textOf(other)).toEqual(seededTokens({ system: '', prompt: 'my order is late', model: support.model }))
  })

  it('refuses hostile input on every side, and keeps serving', async () => {
    const platform = await startPlatform()
    const daemon = await startDaemon(writeDaemonConfig(platform.url, [agent('helper', { conversations: ['known'], model: { maxTokens: 5, tokenDelayMs: 1 } })]))

    // Runtime API: bad params are a coded error; a conversation no agent serves is E_NOT_FOUND.
    const runtime = await runtimeClient(daemon.state.runtimeUrl)
    const bad = await runtime.rpc.request('agent.reply', { conversation: 7 }).catch((e: EchoError) => e)
    expect((bad as EchoError).code).toBe('E_INVALID_PARAMS')
    const stream = runtime.rpc.stream('agent.reply', { conversation: 'nobody-here', user: 'ada', text: 'hi' })
    const missing = await (async () => {
      for await (const _ of stream) void _
    })().catch((e: EchoError) => e)
    expect((missing as EchoError).code).toBe('E_NOT_FOUND')
    // …and a user of the runtime API can stream a reply directly too
    const tokens: unknown[] = []
    for await (const token of runtime.rpc.stream('agent.reply', { conversation: 'known', user: 'ada', text: 'hi' })) tokens.push(token)
    expect(tokens).toEqual(seededTokens({ system: '', prompt: 'hi', model: { seed: 1, maxTokens: 5, tokenDelayMs: 1, jitterMs: 10 } }))

    // Platform: garbage lines get error lines; an endless line closes only that connection.
    const raw = connect(Number(new URL(platform.url.replace('tcp:', 'http:')).port), '127.0.0.1')
    let answer = ''
    raw.setEncoding('utf8').on('data', (d: string) => (answer += d))
    const closed = new Promise<void>((resolve) => raw.once('close', () => resolve()))
    raw.write('not json\n{"type":"send"}\n')
    await until(() => answer.split('\n').filter(Boolean).length >= 2, 10_000, 'two error lines')
    expect(answer).toContain('"E_BAD_REQUEST"')
    expect(answer).toContain('"E_UNAUTHORIZED"')
    raw.write('x'.repeat(70 * 1024))
    await closed
    expect(answer).toContain('"E_TOO_LARGE"')

    // A message in a conversation no agent serves ends its reply with the error; the next one works.
    const alice = await User.connect(platform.url, 'alice')
    const refused = await alice.ask('elsewhere', 'hello?')
    expect(refused.end).toMatchObject({ reason: 'error' })
    expect(String(refused.end!.error)).toMatch(/^E_NOT_FOUND: No agent answers in conversation 'elsewhere'/)
    const fine = await alice.ask('known', 'hello?')
    expect(fine.end!.reason).toMatch(/^(stop|length)$/)
    expect(fine.deltas.length).toBeGreaterThan(0)
  })
})
