/** The pure parts on their own: the line splitter's bound, the seeded provider, routing, the agents file. */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { EchoError } from '@echostream/node'
import { AgentStore } from '../src/daemon/agents.js'
import { loadConfig } from '../src/daemon/config.js'
import { LineSplitter } from '../src/platform/protocol.js'
import { SeededTextProvider, seededDelays, seededTokens } from '../src/provider/provider.js'
import { EXAMPLE, tempDir } from './harness.js'

describe('units', () => {
  it('LineSplitter: lines across chunks; a line over the bound is refused without being kept', () => {
    const lines: Array<string | undefined> = []
    const splitter = new LineSplitter((l) => lines.push(l), 10)
    splitter.push('ab')
    splitter.push('c\nde\n')
    splitter.push('x'.repeat(11))
    splitter.push('yy\nok\n')
    expect(lines).toEqual(['abc', 'de', undefined, 'yy', 'ok'])
  })

  it('the seeded provider: same request, same tokens; the delays never change the text; abort stops it', async () => {
    const request = { system: 's', prompt: 'p', model: { seed: 1, maxTokens: 30, tokenDelayMs: 1, jitterMs: 0 } }
    expect(seededTokens(request)).toEqual(seededTokens(structuredClone(request)))
    expect(seededTokens({ ...request, model: { ...request.model, tokenDelayMs: 50, jitterMs: 20 } })).toEqual(seededTokens(request))
    expect(seededTokens({ ...request, model: { ...request.model, seed: 2 } })).not.toEqual(seededTokens(request))
    expect(seededDelays({ ...request, model: { ...request.model, tokenDelayMs: 10, jitterMs: 5 } }, 100).every((d) => d >= 5 && d <= 15)).toBe(true)
    const got: string[] = []
    for await (const t of new SeededTextProvider().generate(request, new AbortController().signal)) got.push(t)
    expect(got).toEqual(seededTokens(request))
    const controller = new AbortController()
    const stream = new SeededTextProvider().generate({ ...request, model: { ...request.model, tokenDelayMs: 10_000 } }, controller.signal)
    const next = stream.next()
    controller.abort()
    await expect(next).rejects.toThrow()
  })

  it('routing: an exact name beats a pattern, a longer pattern a shorter one; changes are on disk before they apply', () => {
    const dir = tempDir({ 'agents.json': JSON.stringify({ agents: [{ id: 'any' }, { id: 'support', conversations: ['support-*'] }, { id: 'vip', conversations: ['support-vip'] }] }) })
    const store = new AgentStore(join(dir, 'agents.json'))
    store.load()
    expect(store.route('general')?.id).toBe('any')
    expect(store.route('support-1')?.id).toBe('support')
    expect(store.route('support-vip')?.id).toBe('vip')
    store.remove('any')
    expect(store.route('general')).toBeUndefined()
    expect(JSON.parse(readFileSync(join(dir, 'agents.json'), 'utf8')).agents.map((a: { id: string }) => a.id)).toEqual(['support', 'vip'])
    expect(() => store.add({ id: 'Bad Id' })).toThrow(EchoError)
    const broken = tempDir({ 'agents.json': '{"agents":[{"id":"a"},{"id":"a"}]}' })
    expect(() => new AgentStore(join(broken, 'agents.json')).load()).toThrow(/listed twice/)
  })

  it('a bad daemon config lists every problem at once, before anything starts', () => {
    const dir = tempDir({ 'agentd.config.json': JSON.stringify({ admin: { port: 'x' }, bogus: 1 }) })
    expect(() => loadConfig(join(dir, 'agentd.config.json'))).toThrow(/has 3 problems: unknown option 'config.bogus'.*'config.admin.token' is required.*'config.admin.port' must be integer/)
  })

  it("the example's own config and agents files are valid", () => {
    process.env.AGENTD_ADMIN_TOKEN ??= 'unit-test-admin-token'
    const config = loadConfig(join(EXAMPLE, 'agentd.config.json'))
    expect(config.connectors[0]!.platform).toBe('tcp://127.0.0.1:7400')
    const store = new AgentStore(config.agentsFile)
    store.load()
    expect(store.list().map((a) => a.id)).toEqual(['helper', 'support'])
  })
})
