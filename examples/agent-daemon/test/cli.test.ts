/**
 * `agentd start`, `status` and `stop` as a user runs them: the example's own bin, each command its
 * own process; `start` leaves the daemon running in the background, `stop` asks it over the admin
 * channel to drain and exit.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { agent, agentd, alive, killDaemonAfter, startPlatform, textOf, User, writeDaemonConfig } from './harness.js'

describe('agentd CLI', () => {
  // Seven commands, each a process that loads the framework from sources: generous for a loaded machine.
  it('start, status, stop against the running daemon', { timeout: 120_000 }, async () => {
    const platform = await startPlatform()
    const config = writeDaemonConfig(platform.url, [agent('helper', { model: { seed: 2, maxTokens: 8, tokenDelayMs: 2 } })])
    const stateFile = join(dirname(config), 'agentd.state.json')
    killDaemonAfter(config) // whatever happens, no daemon outlives the test

    const notYet = await agentd(['status', '--config', config])
    expect(notYet.code).toBe(3)
    expect(notYet.stdout).toContain('agentd is not running')

    const started = await agentd(['start', '--config', config])
    expect(started.stderr).toBe('')
    expect(started.code).toBe(0)
    const pid = Number(/pid (\d+)/.exec(started.stdout)![1])
    expect(alive(pid)).toBe(true)
    expect(JSON.parse(readFileSync(stateFile, 'utf8'))).toMatchObject({ pid })

    const again = await agentd(['start', '--config', config])
    expect(again.code).toBe(1)
    expect(again.stderr).toContain(`E_STATE: agentd is already running (pid ${pid}`)

    // one conversation, so status has something to count
    const alice = await User.connect(platform.url, 'alice')
    const reply = await alice.ask('general', 'status check')
    expect(textOf(reply).length).toBeGreaterThan(0)

    const status = await agentd(['status', '--config', config, '--json'])
    expect(status.code).toBe(0)
    const s = JSON.parse(status.stdout) as { running: boolean; pid: number; uptimeMs: number; agents: Array<{ id: string }>; conversations: { total: number }; connectors: Array<{ connected: boolean }> }
    expect(s).toMatchObject({ running: true, pid, agents: [{ id: 'helper' }], conversations: { total: 1 }, connectors: [{ connected: true }] })
    expect(s.uptimeMs).toBeGreaterThan(0)
    const human = await agentd(['status', '--config', config])
    expect(human.stdout).toMatch(new RegExp(`agentd running: pid ${pid}, up \\d+h \\d+m \\d+s`))
    expect(human.stdout).toContain('conversations: 1')

    const stopped = await agentd(['stop', '--config', config])
    expect(stopped.code).toBe(0)
    expect(stopped.stdout).toContain(`agentd stopped (pid ${pid})`)
    expect(alive(pid)).toBe(false)
    expect(existsSync(stateFile)).toBe(false)
    expect(readFileSync(join(dirname(config), 'agentd.log'), 'utf8')).toContain('"msg":"agentd stopped"')

    const usage = await agentd(['start', '--config', config, '--timeout', 'soon'])
    expect(usage.code).toBe(2)
    expect(usage.stderr).toContain('--timeout takes a whole number of milliseconds')
  })
})
