/**
 * The chat across two nodes on a real redis-server, with three users: ada and bob in headless
 * Chromium (logged in through the page's form: login by call), cy in the terminal client (a child
 * process, logged in at the handshake), and bob on a second device. They talk in a group; node a
 * is SIGKILLed mid-conversation: every participant ends with the same messages, each once, in
 * the same order. Typing and read receipts travel as events; a closed tab is offline within
 * seconds on both nodes, while a user with another device open stays online; a killed client too.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { startRedis } from '../../../test/helpers/redis.js'
import { onCleanup, tempDir } from '../../../test/helpers/fixtures.js'
import { APP, delivered, startNode, startTerminal } from './procs.js'
import { launch, loginPage, pageLog } from './browser.js'
import { startWeb } from '../src/web.js'

const CONV = 'g:team'
type Win = { chatApp: { chat: { send(conv: string, text: string): Promise<unknown>; joinGroup(name: string): Promise<string>; state: { online: Set<string> } } } }

describe('chat: two nodes, two browsers and a terminal', () => {
  it('a node killed mid-conversation loses and repeats nothing; typing, receipts and presence work across nodes', { timeout: 58_000 }, async () => {
    const t0 = Date.now()
    const mark = (what: string) => process.env.CHAT_DEBUG && console.log(`${Date.now() - t0} ms: ${what}`)
    const redis = await startRedis()
    const dir = tempDir()
    const data = join(dir, 'data')
    const [a, b, browser] = await Promise.all([startNode(redis.url, data, 'a'), startNode(redis.url, data, 'b'), launch()])
    const web = await startWeb({ urls: [a.url, b.url] })
    onCleanup(() => web.close())
    const cy = startTerminal('cy', 'cypher', [a.url, b.url], join(dir, 'cy.json'))
    const [ada, bob, bob2] = await Promise.all([loginPage(browser, web.origin, 'ada', 'lovelace', 0), loginPage(browser, web.origin, 'bob', 'builder', 1), loginPage(browser, web.origin, 'bob', 'builder', 0)])
    await cy.waitFor((l) => l.type === 'ready', 30_000, 'ready')
    mark('all logged in')
    expect(await ada.page.textContent('#status')).toContain('on node a')
    expect(await bob.page.textContent('#status')).toContain('on node b')

    // Groups are rooms: everyone joins 'team' (the pages through their form).
    cy.type('/join team')
    for (const { page } of [ada, bob]) {
      await page.fill('#groupname', 'team')
      await page.press('#groupname', 'Enter')
      await page.waitForSelector(`#convs button[data-conv="${CONV}"]`)
    }
    await cy.waitFor((l) => l.type === 'joined', 10_000, 'joined')
    // bob's second device learns of the conversation by itself (chat.conv → sync)
    await bob2.page.waitForSelector(`#convs button[data-conv="${CONV}"]`, { timeout: 10_000 })

    // One message through the form, then a conversation; node a dies in the middle of it.
    await ada.page.click(`#convs button[data-conv="${CONV}"]`)
    await ada.page.fill('#text', 'ada via the form')
    await ada.page.press('#text', 'Enter')
    const sent: string[] = ['ada via the form']
    const say = async (who: 'ada' | 'bob' | 'cy', n: number) => {
      const text = `${who} ${n}`
      sent.push(text)
      if (who === 'cy') cy.type(`/to ${CONV} ${text}`)
      else await (who === 'ada' ? ada : bob).page.evaluate(([conv, t]) => void (window as unknown as Win).chatApp.chat.send(conv!, t!), [CONV, text])
    }
    await cy.waitFor((l) => l.type === 'message' && l.text === 'ada via the form', 10_000, 'the form message')
    for (let n = 1; n <= 12; n++) {
      await Promise.all([say('ada', n), say('bob', n), say('cy', n)])
      if (n === 6) {
        mark('killing node a')
        await a.kill()
      }
      await new Promise((resolve) => setTimeout(resolve, 40))
    }
    const total = sent.length
    const complete = async () => {
      const logs = [await pageLog(ada.page, CONV), await pageLog(bob.page, CONV), await pageLog(bob2.page, CONV), delivered(cy.lines, CONV)]
      return logs
    }
    let logs: string[][] = []
    const deadline = Date.now() + 40_000
    while (Date.now() < deadline) {
      logs = await complete()
      if (logs.every((log) => log.length >= total)) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    mark('all delivered')
    const [adaLog, bobLog, bob2Log, cyLog] = logs
    // each once, in order (seq 1…total), every text that was sent, the same order for everyone
    expect(adaLog!.map((l) => Number(l.split(':')[0]))).toEqual(Array.from({ length: total }, (_, i) => i + 1))
    expect(adaLog!.map((l) => l.slice(l.indexOf(':') + 1)).sort()).toEqual([...sent].sort())
    expect(bobLog).toEqual(adaLog)
    expect(bob2Log).toEqual(adaLog)
    expect(cyLog).toEqual(adaLog)
    expect(await ada.page.textContent('#status')).toContain('on node b')
    // cy's terminal moved to node b too and went on with the same session
    expect(cy.of('recovery')).toEqual([expect.objectContaining({ recovered: true, node: 'b' })])

    // Typing and read receipts are events, across nodes (everyone is on node b now).
    cy.type(`/typing ${CONV}`)
    await ada.page.waitForFunction(() => document.getElementById('typing')!.textContent === 'cy is typing…', null, { timeout: 10_000 })
    await bob.page.click(`#convs button[data-conv="${CONV}"]`)
    await cy.waitFor((l) => l.type === 'read' && l.user === 'bob' && l.seq === total, 10_000, "bob's read receipt")
    await ada.page.waitForFunction((t) => document.querySelector('.receipt')?.textContent?.includes(`bob #${t}`), total, { timeout: 10_000 })

    // A reload logs in at the handshake with the token the form's login gave (no form), and
    // delivers nothing again: this device's cursors say it has everything; the page shows it as history.
    await bob.page.reload()
    await bob.page.waitForSelector('#side:not([hidden])', { timeout: 20_000 })
    expect(await bob.page.isHidden('#login')).toBe(true)
    await bob.page.waitForSelector('#log p.old', { timeout: 10_000 })
    expect(await pageLog(bob.page, CONV)).toEqual([])
    expect(await bob.page.locator('#log p.old').count()).toBe(total)

    // A look at the page (git-ignored test-results/ at the workspace root).
    mkdirSync(join(APP, '..', '..', 'test-results'), { recursive: true })
    await ada.page.screenshot({ path: join(APP, '..', '..', 'test-results', 'chat.png') })

    // Presence: a closed tab is offline within seconds, on both nodes; bob has another device open.
    const bobOnlineFor = (page: typeof ada.page, user: string) => page.evaluate((u) => (window as unknown as Win).chatApp.chat.state.online.has(u), user)
    expect(await bobOnlineFor(bob.page, 'ada')).toBe(true)
    const closedAt = Date.now()
    await ada.page.context().close()
    await cy.waitFor((l) => l.type === 'presence' && l.user === 'ada' && l.online === false, 10_000, 'ada offline')
    await bob.page.waitForSelector('#people li[data-user="ada"][data-online="false"]', { timeout: 10_000 })
    const offlineMs = Date.now() - closedAt
    mark(`ada offline after ${offlineMs} ms`)
    expect(offlineMs).toBeLessThan(5000)
    await bob2.page.context().close()
    cy.type('/who')
    const who = await cy.waitFor((l) => l.type === 'who', 10_000, 'who')
    expect(who.online).toEqual(['bob', 'cy'])
    // A client that dies without a goodbye (its connection lost: the session waits for a resume
    // for a minute) is offline within seconds too.
    const killedAt = Date.now()
    await cy.kill()
    await bob.page.waitForSelector('#people li[data-user="cy"][data-online="false"]', { timeout: 10_000 })
    mark(`cy offline ${Date.now() - killedAt} ms after its process was killed`)
    expect(Date.now() - killedAt).toBeLessThan(5000)
    expect(bob.errors.filter((e) => !e.includes('WebSocket'))).toEqual([])
  })
})
