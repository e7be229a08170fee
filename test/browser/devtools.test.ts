/**
 * The devtools page (@echostream/plugin-devtools) in headless Chromium: served by the plugin's own
 * listener, connected over its own echostream session with the token from the URL's fragment.
 * It shows the session a Node client of this test opened and the call it made, live (the call is
 * made after the page is up, so only a pushed update can bring it); a screenshot goes to
 * test-results/. Without the token it asks for one; with a wrong one it says E_UNAUTHORIZED.
 */
import { mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKernel, type EchoKernel } from '@echostream/kernel'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import rpc from '@echostream/plugin-rpc'
import events from '@echostream/plugin-events'
import streams from '@echostream/plugin-streams'
import clockSync from '@echostream/plugin-clock-sync'
import devtools from '@echostream/plugin-devtools'
import { startHarness, type Harness } from './helpers/harness.js'
import { track } from '../helpers/fixtures.js'

const results = join(dirname(fileURLToPath(import.meta.url)), '../../test-results')
const TOKEN = 'browser-test-token-0123456789'

let harness: Harness
beforeAll(async () => {
  harness = await startHarness()
})
afterAll(() => harness?.close())

async function startServer(): Promise<EchoKernel> {
  const server = track(
    await createKernel({
      role: 'server',
      plugins: [[transportWs, { port: 0, host: '127.0.0.1' }], codecMsgpack, rpc, events, streams, clockSync, [devtools, { port: 0, token: TOKEN, intervalMs: 200, name: 'browser-devtools-test' }]],
    }),
  )
  server.rpc.handle('math.add', ({ a, b }: { a: number; b: number }) => a + b)
  await server.start()
  return server
}

describe('devtools page', () => {
  it("shows the test's session and the call it made, live", async () => {
    const server = await startServer()
    const { page, errors } = await harness.newPage({ url: `${server.devtools.pageUrl}/#token=${TOKEN}` })
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'live', undefined, { timeout: 20_000 })
    expect(await page.textContent('#server')).toMatch(/^browser-devtools-test .* · pid \d+ /)

    // A Node client connects and calls after the page is live: only devtools.update brings them.
    // Its clock runs 3 s ahead of the server's: the page shows the offset it reports (-3 s) with its probes.
    const client = track(
      await createKernel({
        role: 'client',
        url: server.url,
        plugins: [transportWs, codecMsgpack, rpc, events, streams, [clockSync, { localOffsetMs: 3000, burstGapMs: [10, 20], intervalMs: [50, 60] }]],
      }),
    )
    await client.start()
    for (let i = 0; i < 3; i++) expect(await client.rpc.request('math.add', { a: i, b: 2 })).toBe(i + 2)
    const id = client.session!.id
    await page.waitForSelector(`#sessions tr[data-session="${id}"]`, { timeout: 10_000 })
    await page.waitForFunction(
      (sid) => {
        const row = document.querySelector(`#sessions tr[data-session="${sid}"]`) as HTMLTableRowElement | null
        return row?.cells[3]?.textContent === '3'
      },
      id,
      { timeout: 10_000 },
    )
    await page.waitForFunction(() => Array.from(document.querySelectorAll('#methods tbody tr')).some((r) => r.textContent?.startsWith('math.add3')), undefined, { timeout: 10_000 })

    await page.waitForFunction((sid) => /^-3\.00\d s \/ /.test(document.querySelector(`#sessions tr[data-session="${sid}"]`)?.lastElementChild?.textContent ?? ''), id, { timeout: 10_000 })
    expect(await page.textContent('#clock')).toMatch(/^1 clients · offset min -3\.00\d s/)
    const row = await page.$eval(`#sessions tr[data-session="${id}"]`, (tr) => Array.from((tr as HTMLTableRowElement).cells).map((c) => c.textContent))
    expect(row[0]).toBe(id)
    expect(row[1]).toMatch(/^127\.0\.0\.1:\d+$/)
    expect(row[3]).toBe('3')
    const methods = await page.$$eval('#methods tbody tr', (rows) => rows.map((r) => Array.from((r as HTMLTableRowElement).cells).map((c) => c.textContent)))
    expect(methods.find((m) => m[0] === 'math.add')?.[1]).toBe('3')
    // The page's own session is there too, marked.
    expect(await page.textContent('#sessions')).toMatch(/\(devtools\)/)
    mkdirSync(results, { recursive: true })
    await page.screenshot({ path: join(results, 'devtools.png'), fullPage: true })
    expect(errors).toEqual([])
  })

  it('asks for a token without one, and reports E_UNAUTHORIZED for a wrong one', async () => {
    const server = await startServer()
    const bare = await harness.newPage({ url: `${server.devtools.pageUrl}/` })
    await bare.page.waitForSelector('#login:not([hidden])')
    expect(await bare.page.textContent('#status')).toBe('a token is needed')

    const wrong = await harness.newPage({ url: `${server.devtools.pageUrl}/#token=wrong-token-but-long-enough` })
    await wrong.page.waitForFunction(() => document.getElementById('status')?.textContent?.startsWith('E_UNAUTHORIZED'), undefined, { timeout: 20_000 })
    expect(await wrong.page.isVisible('#main')).toBe(false)
    expect(server.sessions()).toEqual([])
    // The form takes the right token and connects.
    await wrong.page.fill('#token', TOKEN)
    await wrong.page.click('#login button')
    await wrong.page.waitForFunction(() => document.getElementById('status')?.textContent === 'live', undefined, { timeout: 20_000 })
    expect(server.sessions()).toHaveLength(1)
  })
})
