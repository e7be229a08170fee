/**
 * The admin channel: its own listener and credentials. A change made there is persisted to the
 * agents file and applied to the next reply without a restart, and survives one; user credentials
 * are refused on the admin listener, and the runtime API refuses admin operations to anyone.
 */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { EchoError } from '@echostream/node'
import { seededTokens } from '../src/provider/provider.js'
import type { AgentConfig } from '../src/daemon/agents.js'
import type { LogEntry } from '../src/daemon/logs.js'
import { admin, ADMIN_TOKEN, agent, runtimeClient, startDaemon, startPlatform, textOf, User, USER_TOKEN, writeDaemonConfig } from './harness.js'

const fileAgents = (configFile: string) => (JSON.parse(readFileSync(join(dirname(configFile), 'agents.json'), 'utf8')) as { agents: AgentConfig[] }).agents

describe('agent daemon: admin channel', () => {
  // Three real processes started through tsx (the platform, the daemon twice) and six replies:
  // about 22 s alone on a loaded 2-core machine, over the 30 s default beside other test files.
  it('applies a change live, persists it, and keeps it across a restart', { timeout: 120_000 }, async () => {
    const platform = await startPlatform()
    const model = { seed: 3, maxTokens: 12, tokenDelayMs: 2, jitterMs: 1 }
    const configFile = writeDaemonConfig(platform.url, [agent('helper', { system: 'v1', model })])
    let daemon = await startDaemon(configFile)
    const alice = await User.connect(platform.url, 'alice')
    let control = await admin(daemon.state.adminUrl)

    const before = await alice.ask('desk', 'same question')
    expect(textOf(before)).toEqual(seededTokens({ system: 'v1', prompt: 'same question', model }))

    const changed = { ...model, seed: 4242, maxTokens: 9 }
    const updated = (await control.rpc.request('admin.agents.update', { id: 'helper', change: { system: 'v2', model: { seed: 4242, maxTokens: 9 } } })) as AgentConfig
    expect(updated).toMatchObject({ id: 'helper', system: 'v2', model: changed }) // untouched model fields kept
    expect(fileAgents(configFile)).toEqual([updated]) // on disk before it answers

    const after = await alice.ask('desk', 'same question')
    const expected = seededTokens({ system: 'v2', prompt: 'same question', model: changed })
    expect(textOf(after)).toEqual(expected)
    expect(textOf(after)).not.toEqual(textOf(before))

    // add and remove: a new agent takes its conversations at once; removed, they have none
    await control.rpc.request('admin.agents.add', { agent: { id: 'ops', conversations: ['ops-*'], model: { seed: 8, maxTokens: 6, tokenDelayMs: 1 } } })
    const ops = await alice.ask('ops-1', 'deploy?')
    expect(textOf(ops)).toEqual(seededTokens({ system: '', prompt: 'deploy?', model: { seed: 8, maxTokens: 6, tokenDelayMs: 1, jitterMs: 10 } }))
    const duplicate = await control.rpc.request('admin.agents.add', { agent: { id: 'ops' } }).catch((e: EchoError) => e)
    expect((duplicate as EchoError).code).toBe('E_CONFLICT')
    const invalid = await control.rpc.request('admin.agents.update', { id: 'ops', change: { model: { maxTokens: -1 } } }).catch((e: EchoError) => e)
    expect((invalid as EchoError).code).toBe('E_INVALID_PARAMS')
    await control.rpc.request('admin.agents.remove', { id: 'ops' })
    expect(fileAgents(configFile).map((a) => a.id)).toEqual(['helper'])
    // 'ops-1' now falls to helper ('*')
    const fallback = await alice.ask('ops-1', 'deploy?')
    expect(textOf(fallback)).toEqual(seededTokens({ system: 'v2', prompt: 'deploy?', model: changed }))
    const gone = await control.rpc.request('admin.agents.remove', { id: 'ops' }).catch((e: EchoError) => e)
    expect((gone as EchoError).code).toBe('E_NOT_FOUND')

    // recent logs over the admin channel
    const logs = (await control.rpc.request('admin.logs', { contains: 'agent' })) as LogEntry[]
    expect(logs.map((l) => l.msg)).toEqual(expect.arrayContaining(['agent updated', 'agent added', 'agent removed']))
    expect(logs.find((l) => l.msg === 'agent updated')).toMatchObject({ agent: 'helper', levelName: 'info' })
    expect(((await control.rpc.request('admin.logs')) as LogEntry[]).length).toBeGreaterThan(0) // params are optional

    // restart: SIGTERM drains and exits 0; the new process reads the persisted change
    await control.stop()
    daemon.child.kill('SIGTERM')
    expect(await daemon.exited).toBe(0)
    daemon = await startDaemon(configFile)
    control = await admin(daemon.state.adminUrl)
    expect((await control.rpc.request('admin.agents.list')) as AgentConfig[]).toEqual([updated])
    const restarted = await alice.ask('desk', 'same question')
    expect(textOf(restarted)).toEqual(expected)
  })

  it('refuses admin calls with user credentials, and admin operations on the runtime API', async () => {
    const platform = await startPlatform()
    const daemon = await startDaemon(writeDaemonConfig(platform.url, [agent('helper')]))

    // the admin listener admits only the admin token
    const asUser = await admin(daemon.state.adminUrl, USER_TOKEN).catch((e: EchoError) => e)
    expect(asUser).toBeInstanceOf(EchoError)
    expect((asUser as EchoError).code).toBe('E_UNAUTHORIZED')

    // the runtime API: a user may list agents and talk to them, never administer them
    const runtime = await runtimeClient(daemon.state.runtimeUrl, USER_TOKEN)
    expect(await runtime.rpc.request('agents.list')).toEqual([{ id: 'helper', name: 'helper', conversations: ['*'] }])
    for (const [method, params] of [['admin.agents.add', { agent: { id: 'evil' } }], ['admin.agents.list', {}], ['admin.shutdown', {}], ['admin.logs', {}]] as const) {
      const refused = await runtime.rpc.request(method, params).catch((e: EchoError) => e)
      expect((refused as EchoError).code, method).toBe('E_UNAUTHORIZED')
      expect((refused as EchoError).data).toMatchObject({ reason: 'admin-only' })
      expect((refused as EchoError).message).toContain('admin listener')
    }
    // the admin token is not a runtime credential either
    const adminOnRuntime = await runtimeClient(daemon.state.runtimeUrl, ADMIN_TOKEN).catch((e: EchoError) => e)
    expect((adminOnRuntime as EchoError).code).toBe('E_UNAUTHORIZED')

    // nothing changed, and the session that was refused still works
    const control = await admin(daemon.state.adminUrl)
    expect(((await control.rpc.request('admin.agents.list')) as AgentConfig[]).map((a) => a.id)).toEqual(['helper'])
    expect(await runtime.rpc.request('runtime.ping')).toBe('pong')
  })
})
