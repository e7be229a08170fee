/**
 * examples/browser-chat as a newcomer runs it (`pnpm start`, a real process), opened in Chromium:
 * join with a name (an RPC), say something (an event back from the server's room), then a
 * screenshot in test-results/ (git-ignored) and assertions on the page's text.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHarness, type Harness } from './helpers/harness.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '../..')
const example = join(root, 'examples/browser-chat')
const results = join(root, 'test-results')

let harness: Harness
let child: ChildProcess | undefined
let pageUrl: string
beforeAll(async () => {
  harness = await startHarness()
  child = spawn(process.execPath, ['--import', 'tsx', 'server.ts'], { cwd: example, env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'inherit'] })
  pageUrl = await new Promise<string>((resolve, reject) => {
    let out = ''
    child!.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const match = /open (http:\/\/\S+) in a browser/.exec(out)
      if (match) resolve(match[1]!)
    })
    child!.once('exit', (code) => reject(new Error(`the example exited with ${code} before serving: ${out}`)))
  })
})
afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child!.once('exit', resolve))
    child.kill('SIGTERM')
    await exited
  }
  await harness?.close()
})

describe('examples/browser-chat', () => {
  it('joins with an RPC, chats with events, and shows it (screenshot in test-results/)', async () => {
    const { page, errors } = await harness.newPage({ url: pageUrl })
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'connected')
    await page.fill('#name', 'Ada')
    await page.click('#join button')
    await page.waitForFunction(() => document.getElementById('online')?.textContent === '1 online: Ada')
    await page.fill('#text', 'hello from Chromium')
    await page.click('#say button')
    await page.waitForFunction(() => document.getElementById('log')?.textContent?.includes('hello from Chromium'))
    mkdirSync(results, { recursive: true })
    await page.screenshot({ path: join(results, 'browser-chat.png') })
    expect(await page.textContent('#status')).toBe('connected as Ada')
    expect(await page.textContent('#log')).toBe('Ada: hello from Chromium')
    expect(await page.textContent('#online')).toBe('1 online: Ada')
    expect(errors).toEqual([])
  })
})
