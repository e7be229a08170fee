/**
 * Headless Chromium (Debian's, through playwright-core, as test/browser does) and chat pages that
 * log in through the page's form. Console errors are collected; everything closes in teardown.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { onCleanup } from '../../../test/helpers/fixtures.js'
import { CHROMIUM } from '../../../test/browser/helpers/harness.js'

const ARGS = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']

export interface ChatPage {
  page: Page
  errors: string[]
}

export async function launch(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'echostream-chat-chromium-'))
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, env: { ...process.env, HOME: profile } })
  onCleanup(() => browser.close().catch(() => {}))
  return browser
}

/** A new browser context (a device of its own) on the chat page, logged in with the form. */
export async function loginPage(browser: Browser, origin: string, user: string, password: string, node = 0): Promise<ChatPage> {
  const context = await browser.newContext()
  const page = await context.newPage()
  const errors: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text())
    if (process.env.CHAT_DEBUG) console.log(`[${user} ${message.type()}] ${message.text()}`)
  })
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`))
  await page.goto(`${origin}/?node=${node}`)
  await page.waitForFunction(() => (window as unknown as { chatReady?: boolean }).chatReady === true, null, { timeout: 30_000 })
  await page.fill('#user', user)
  await page.fill('#password', password)
  await page.click('#login button')
  await page.waitForSelector('#side:not([hidden])', { timeout: 20_000 })
  return { page, errors }
}

/** The messages the page delivered in a conversation, `seq:text`, in delivery order. */
export const pageLog = (page: Page, conv: string) =>
  page.evaluate((c) => (window as unknown as { chatLog: Array<{ conv: string; seq: number; text?: string; file?: { name: string } }> }).chatLog.filter((m) => m.conv === c).map((m) => `${m.seq}:${m.text ?? m.file?.name}`), conv)
