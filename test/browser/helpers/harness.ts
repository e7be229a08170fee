/**
 * One headless Chromium per test file (Debian's, driven by playwright-core), a static server for
 * the prebuilt bundles, and pages that fail the test on any console error. Pages load
 * `/echostream-full.js` as `window.echostream` (or `/echostream.js` with `bundle: 'core'`).
 */
import { createServer as createHttpServer, type Server } from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { buildBundles } from '../../../presets/browser/scripts/build.mjs'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const ARGS = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']

export interface TestPage {
  page: Page
  /** Console errors and uncaught exceptions seen so far. */
  errors: string[]
}

export interface Harness {
  browser: Browser
  /** `http://127.0.0.1:port` of the static server. */
  origin: string
  /** Extra routes of the static server: path → [content type, body]. */
  routes: Map<string, [string, string | Uint8Array]>
  /** A page on the static server's test page (`bundle`), or at `url` (then nothing is awaited). */
  newPage(options?: { bundle?: 'core' | 'full'; url?: string }): Promise<TestPage>
  close(): Promise<void>
}

function pageHtml(bundle: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>echostream test page</title></head><body>
<script type="module">import * as echostream from '/${bundle}.js'; window.echostream = echostream; window.ready = true</script></body></html>`
}

export async function startHarness(options: { args?: string[] } = {}): Promise<Harness> {
  const bundles = await buildBundles()
  const routes = new Map<string, [string, string | Uint8Array]>()
  for (const b of bundles) routes.set(`/${b.name}.js`, ['text/javascript', b.code])
  routes.set('/', ['text/html', pageHtml('echostream-full')])
  routes.set('/core.html', ['text/html', pageHtml('echostream')])
  const http: Server = createHttpServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    if (path === '/favicon.ico') return void res.writeHead(204).end()
    const route = routes.get(path)
    if (!route) return void res.writeHead(404).end('not found')
    res.writeHead(200, { 'content-type': route[0], 'cache-control': 'no-store' }).end(route[1])
  })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  const address = http.address()
  const origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
  // A fresh profile for every launch (playwright makes one per launch and removes it after).
  const profile = mkdtempSync(join(tmpdir(), 'echostream-chromium-'))
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...ARGS, ...(options.args ?? [])], env: { ...process.env, HOME: profile } })
  const contexts: BrowserContext[] = []
  return {
    browser,
    origin,
    routes,
    async newPage({ bundle = 'full', url } = {}) {
      const context = await browser.newContext()
      contexts.push(context)
      const page = await context.newPage()
      const errors: string[] = []
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(message.text())
        if (process.env.ECHOSTREAM_BROWSER_DEBUG) console.log(`[page ${message.type()}] ${message.text()}`)
      })
      page.on('pageerror', (error) => {
        errors.push(`uncaught: ${error.message}`)
        if (process.env.ECHOSTREAM_BROWSER_DEBUG) console.log(`[page uncaught] ${error.stack}`)
      })
      await page.goto(url ?? origin + (bundle === 'core' ? '/core.html' : '/'))
      if (!url) await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true)
      return { page, errors }
    },
    async close() {
      for (const context of contexts) await context.close().catch(() => {})
      await browser.close().catch(() => {})
      await new Promise<void>((resolve) => http.close(() => resolve()))
      http.closeAllConnections?.()
      rmSync(profile, { recursive: true, force: true })
    },
  }
}
