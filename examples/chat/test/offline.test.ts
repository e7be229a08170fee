/**
 * Login, persisted messages and offline delivery, with real processes: two chat nodes on a real
 * redis-server, terminal clients as child processes. bob has never been online when ada writes to
 * him; both nodes are then SIGKILLed and started again; bob logs in and gets every message, in
 * order, once — and a restart of bob's client gets nothing twice, only what is new.
 */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { startRedis } from '../../../test/helpers/redis.js'
import { tempDir } from '../../../test/helpers/fixtures.js'
import { createClient } from '@echostream/kernel'
import presetCluster from '@echostream/preset-cluster'
import auth from '@echostream/plugin-auth'
import { delivered, startNode, startTerminal } from './procs.js'

describe('chat: persisted messages and offline delivery', () => {
  it('a user who was offline gets every message once, in order, even after both nodes restarted', { timeout: 55_000 }, async () => {
    const t0 = Date.now()
    const mark = (what: string) => process.env.CHAT_DEBUG && console.log(`${Date.now() - t0} ms: ${what}`)
    const redis = await startRedis()
    const dir = tempDir()
    const data = join(dir, 'data')
    let [a, b] = await Promise.all([startNode(redis.url, data, 'a'), startNode(redis.url, data, 'b')])

    const ada = startTerminal('ada', 'lovelace', [a.url, b.url], join(dir, 'ada.json'))
    // A wrong password is refused at the handshake, with the auth plugin's code.
    const intruder = await createClient({ preset: presetCluster, plugins: [auth], options: { cluster: { urls: [a.url] }, auth: { credentials: { user: 'bob', password: 'guess' } } } })
    await expect(intruder.start()).rejects.toMatchObject({ code: 'E_UNAUTHORIZED' })
    await intruder.stop()
    await ada.waitFor((l) => l.type === 'ready', 30_000, 'ready')
    mark('ada ready, intruder refused')
    const texts = ['one', 'two', 'three', 'four', 'five']
    for (const text of texts) ada.type(`/to bob ${text}`)
    ada.type('/join team')
    ada.type('/to g:team for the group')
    await ada.waitFor((l) => l.type === 'sent' && l.conv === 'g:team', 20_000, 'the group message sent')
    expect(ada.of('sent').filter((l) => l.conv === 'dm:ada:bob').map((l) => l.seq)).toEqual([1, 2, 3, 4, 5])
    mark('ada sent')

    // Both nodes die (no goodbye) and come back on the same ports; ada's client reconnects by itself.
    const ports = [a, b].map((n) => Number(new URL(n.url).port))
    await Promise.all([a.kill(), b.kill()])
    ;[a, b] = await Promise.all([startNode(redis.url, data, 'a', ports[0]), startNode(redis.url, data, 'b', ports[1])])
    mark('restarted')

    const bobState = join(dir, 'bob.json')
    const bob = startTerminal('bob', 'builder', [b.url, a.url], bobState)
    await bob.waitFor((l) => l.type === 'ready', 30_000, 'ready')
    await bob.waitFor((l) => l.type === 'message' && l.seq === 5, 10_000, 'the fifth message')
    expect(delivered(bob.lines, 'dm:ada:bob')).toEqual(texts.map((t, i) => `${i + 1}:${t}`))
    // He is not in the group: nothing of it reached him.
    expect(delivered(bob.lines, 'g:team')).toEqual([])
    bob.type('/join team')
    await bob.waitFor((l) => l.type === 'message' && l.conv === 'g:team', 10_000, 'the group history after joining')
    expect(delivered(bob.lines, 'g:team')).toEqual(['1:for the group'])
    await bob.kill('SIGTERM')
    mark('bob got all')

    // ada goes on after the restart; bob's device again: only what is new arrives (nothing twice).
    ada.type('/to bob six')
    await ada.waitFor((l) => l.type === 'sent' && l.seq === 6, 20_000, 'six sent')
    const again = startTerminal('bob', 'builder', [a.url, b.url], bobState)
    await again.waitFor((l) => l.type === 'message' && l.seq === 6, 30_000, 'the sixth message')
    ada.type('/to g:team barrier')
    await again.waitFor((l) => l.type === 'message' && l.conv === 'g:team' && l.text === 'barrier', 10_000, 'a later barrier message')
    expect(delivered(again.lines, 'dm:ada:bob')).toEqual(['6:six'])
    expect(delivered(again.lines, 'g:team')).toEqual(['2:barrier'])
    // ada's own device saw each of her messages once too, across the restart
    expect(delivered(ada.lines, 'dm:ada:bob')).toEqual([...texts, 'six'].map((t, i) => `${i + 1}:${t}`))
    mark('done')
  })
})
