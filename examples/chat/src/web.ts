/**
 * The page's tiny static server: public/ as it is, the prebuilt browser bundle as
 * /echostream-full.js (built once at start by @echostream/preset-browser's build), and
 * /config.json with the nodes' URLs. Loopback only.
 */
import { createServer } from 'node:http'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildBundles } from '@echostream/preset-browser/build'

const publicDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'public')
const PAGES: Record<string, string> = { '/': 'index.html', '/app.js': 'app.js', '/chat-core.js': 'chat-core.js', '/link.js': 'link.js' }

export async function startWeb({ urls, port = 0 }: { urls: string[]; port?: number }): Promise<{ origin: string; close(): Promise<void> }> {
  const bundles = await buildBundles()
  const full = bundles.find((b) => b.name === 'echostream-full')
  if (!full) throw new Error('the browser preset built no echostream-full bundle')
  const config = JSON.stringify({ urls })
  const http = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    if (path === '/favicon.ico') return void res.writeHead(204).end()
    if (path === '/echostream-full.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(full.code)
    if (path === '/config.json') return void res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(config)
    const file = PAGES[path]
    if (!file) return void res.writeHead(404).end('not found')
    // Read on each request: edit the page, reload.
    res.writeHead(200, { 'content-type': file.endsWith('.html') ? 'text/html' : 'text/javascript', 'cache-control': 'no-store' }).end(readFileSync(join(publicDir, file)))
  })
  await new Promise<void>((done) => http.listen(port, '127.0.0.1', done))
  const address = http.address() as { port: number }
  return { origin: `http://127.0.0.1:${address.port}`, close: () => new Promise((done) => http.close(() => done())) }
}
