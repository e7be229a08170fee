/**
 * A 20 MB file from the terminal client to a user in Chromium, over streams, cut twice by a node's
 * death: the upload's node is SIGKILLed at ~30 % (the client goes on from the offset the server
 * acknowledged, on the other node), and the download's node is SIGKILLed mid-way (the page asks
 * again from the bytes it has). The page's sha256 of what it received equals the file's; both
 * clients showed progress.
 */
import { createHash, randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { startRedis } from '../../../test/helpers/redis.js'
import { onCleanup, tempDir } from '../../../test/helpers/fixtures.js'
import { startNode, startTerminal } from './procs.js'
import { launch, loginPage } from './browser.js'
import { startWeb } from '../src/web.js'

const SIZE = 20 * 1024 * 1024
type Transfer = { dir: string; done: number; size: number; ok?: boolean; sha256?: string; resumedAt?: number }
type Win = { transfers: Record<string, Transfer> }

describe('chat: resumable file transfer', () => {
  it('a 20 MB upload and its download each survive a node killed under them (sha256 equal)', { timeout: 58_000 }, async () => {
    const t0 = Date.now()
    const mark = (what: string) => process.env.CHAT_DEBUG && console.log(`${Date.now() - t0} ms: ${what}`)
    const redis = await startRedis()
    const dir = tempDir()
    const data = join(dir, 'data')
    const content = randomBytes(SIZE)
    const sha256 = createHash('sha256').update(content).digest('hex')
    writeFileSync(join(dir, 'big.bin'), content)
    const [a0, b, browser] = await Promise.all([startNode(redis.url, data, 'a'), startNode(redis.url, data, 'b'), launch()])
    let a = a0
    const ports = [a, b].map((n) => Number(new URL(n.url).port))
    const web = await startWeb({ urls: [a.url, b.url] })
    onCleanup(() => web.close())
    const cy = startTerminal('cy', 'cypher', [a.url, b.url], join(dir, 'cy.json'))
    const bob = await loginPage(browser, web.origin, 'bob', 'builder', 1)
    await cy.waitFor((l) => l.type === 'ready' && l.node === 'a', 30_000, 'ready on node a')
    mark('ready')

    // The upload, cut at ~30 % by the death of cy's node.
    cy.type(`/file bob ${join(dir, 'big.bin')}`)
    const acked = await cy.waitFor((l) => l.type === 'progress' && l.dir === 'up' && (l.done as number) >= SIZE * 0.3, 30_000, '30 % uploaded')
    await a.kill()
    mark(`node a killed at ${acked.done} bytes acknowledged`)
    // Node a comes back (same port) while the upload goes on at node b.
    const aBack = startNode(redis.url, data, 'a', ports[0])
    const resumed = await cy.waitFor((l) => l.type === 'upload-resume', 20_000, 'the upload resumed')
    expect(resumed.offset as number).toBeGreaterThanOrEqual(acked.done as number)
    expect(resumed.offset as number).toBeLessThan(SIZE)
    const uploaded = await cy.waitFor((l) => l.type === 'uploaded', 30_000, 'the upload done')
    expect(uploaded.sha256).toBe(sha256)
    mark(`uploaded (resumed at ${resumed.offset})`)
    const upProgress = cy.of('progress').filter((l) => l.dir === 'up').map((l) => l.done as number)
    expect(upProgress.at(-1)).toBe(SIZE)
    expect(upProgress.length).toBeGreaterThan(10)

    // bob downloads from node b, which dies mid-way: the page goes on at node a.
    a = await aBack
    const button = await bob.page.waitForSelector('button[data-file]', { timeout: 20_000 })
    const fileId = (await button.getAttribute('data-file'))!
    await button.click()
    await bob.page.waitForFunction(([id, size]) => ((window as unknown as Win).transfers[id as string]?.done ?? 0) >= (size as number) * 0.3, [fileId, SIZE] as const, { timeout: 30_000, polling: 20 })
    await b.kill()
    mark('node b killed during the download')
    await bob.page.waitForFunction((id) => (window as unknown as Win).transfers[id]?.ok !== undefined, fileId, { timeout: 40_000 })
    const result = await bob.page.evaluate((id) => (window as unknown as Win).transfers[id]!, fileId)
    mark('downloaded')
    expect(result).toMatchObject({ dir: 'down', done: SIZE, size: SIZE, ok: true, sha256 })
    // it went on from what the page had when its node died, not from the start
    expect(result.resumedAt).toBeGreaterThanOrEqual(SIZE * 0.3)
    expect(result.resumedAt).toBeLessThan(SIZE)
    // The page's progress bar is full and says so.
    expect(await bob.page.evaluate((id) => (document.querySelector(`[data-transfer="down-${id}"] progress`) as HTMLProgressElement).value, fileId)).toBe(1)
    expect(await bob.page.textContent(`[data-transfer="down-${fileId}"]`)).toContain('sha256 verified')
    expect(await bob.page.textContent('#status')).toContain('on node a')
  })
})
