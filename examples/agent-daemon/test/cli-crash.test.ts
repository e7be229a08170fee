/**
 * The CLI around a daemon that died (kill -9) and one that is stopped mid-reply: a stale state
 * file is noticed and removed, a new start works and keeps the conversation going (the platform
 * kept the message sent while no daemon was up), and shutdown drains — the reply streaming when
 * it was asked finishes whole before the process exits, a message sent meanwhile gets a notice.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { seededTokens } from '../src/provider/provider.js'
import { admin, agent, agentd, alive, killDaemonAfter, startPlatform, textOf, until, User, writeDaemonConfig } from './harness.js'

describe('agentd CLI: crash and drain', () => {
  it('recovers from kill -9 (stale state, backlog answered), and shutdown lets a running reply finish', { timeout: 120_000 }, async () => {
    const platform = await startPlatform()
    const quick = { seed: 21, maxTokens: 10, tokenDelayMs: 5, jitterMs: 2 }
    const slow = { seed: 22, maxTokens: 40, tokenDelayMs: 60, jitterMs: 10 }
    const config = writeDaemonConfig(platform.url, [agent('quick', { model: quick }), agent('slow', { conversations: ['drain'], model: slow })])
    const stateFile = join(dirname(config), 'agentd.state.json')
    killDaemonAfter(config)

    expect((await agentd(['start', '--config', config])).code).toBe(0)
    const { pid } = JSON.parse(readFileSync(stateFile, 'utf8')) as { pid: number }
    process.kill(pid, 'SIGKILL')
    await until(() => !alive(pid), 10_000, 'the daemon gone')

    const alice = await User.connect(platform.url, 'alice')
    const early = await alice.send('desk', 'anyone there?') // kept by the platform for the bot

    const stale = await agentd(['status', '--config', config])
    expect(stale.code).toBe(3)
    expect(stale.stdout).toContain(`pid ${pid} is gone; removed its stale state file`)
    expect(existsSync(stateFile)).toBe(false)

    const restarted = await agentd(['start', '--config', config])
    expect(restarted.code).toBe(0)
    const pid2 = Number(/pid (\d+)/.exec(restarted.stdout)![1])
    await until(() => alice.reply(`r-${early}`)?.end !== undefined, 30_000, 'the reply to the message sent while down')
    expect(textOf(alice.reply(`r-${early}`)!)).toEqual(seededTokens({ system: '', prompt: 'anyone there?', model: quick }))

    // shutdown (what `agentd stop` asks for) while a reply streams: it finishes whole, then the daemon exits
    const expected = seededTokens({ system: '', prompt: 'a long answer please', model: slow })
    expect(expected.length).toBeGreaterThanOrEqual(30) // ≥ 1.8 s of tokens
    const control = await admin(JSON.parse(readFileSync(stateFile, 'utf8')).adminUrl)
    const id = await alice.send('drain', 'a long answer please')
    await until(() => (alice.reply(`r-${id}`)?.deltas.length ?? 0) >= 1, 20_000, 'the first token')
    expect(await control.rpc.request('admin.shutdown')).toEqual({ pid: pid2, draining: true })
    const late = await alice.send('drain', 'one more?')
    await until(() => !alive(pid2), 30_000, 'the daemon to exit')
    // The daemon is gone, so whatever it wrote is all there is; the platform relays it to alice in
    // its own time (one connection, in order: the notice was written before the reply's end).
    await until(() => alice.reply(`r-${id}`)?.end !== undefined, 10_000, "the reply's end, written before the daemon exited")
    expect(alice.posts.map((p) => p.text)).toContain('agentd is restarting: send that again in a moment.')
    expect(alice.reply(`r-${late}`)).toBeUndefined()
    const reply = alice.reply(`r-${id}`)!
    expect(reply.end?.reason).toMatch(/^(stop|length)$/)
    expect(textOf(reply)).toEqual(expected)
    const log = readFileSync(join(dirname(config), 'agentd.log'), 'utf8')
    const order = ['"msg":"draining"', '"msg":"generation ended"', '"msg":"agentd stopped"'].map((m) => log.lastIndexOf(m))
    expect(order[0]).toBeGreaterThan(0)
    expect(order[0]).toBeLessThan(order[1]!) // the drain began while the reply was still streaming
    expect(order[1]).toBeLessThan(order[2]!)
  })
})
