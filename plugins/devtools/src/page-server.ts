/**
 * The devtools page over HTTP, on a listener of its own (loopback by default): the HTML, its
 * script, the prebuilt browser bundle of @echostream/preset-browser, and `/config.json` (the
 * WebSocket URL to connect to). Nothing served here is secret: the token travels in the page
 * URL's fragment (`#token=…`, never sent to a server) and from the page only inside the
 * echostream `hello`, so every piece of data the page shows is behind the token.
 */
import { createServer, type Server } from 'node:http'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { listenHttp, messageOf, type HttpListener } from '@echostream/kernel'
import { devtoolsErrors } from './errors.js'

export type PageServer = HttpListener

const require = createRequire(import.meta.url)
const pageFile = (name: string) => new URL(`../page/${name}`, import.meta.url)

/**
 * The browser bundle: the prebuilt file a packed @echostream/preset-browser ships
 * (`dist/bundle/echostream.js`), or — in a workspace where it was not built — built in memory by
 * the preset's own build script (esbuild, a second or two, once).
 */
let bundle: Promise<Uint8Array> | undefined
export function browserBundle(): Promise<Uint8Array> {
  bundle ??= (async () => {
    try {
      return readFileSync(require.resolve('@echostream/preset-browser/bundle'))
    } catch {
      const build = (await import('@echostream/preset-browser/build' as string)) as { buildBundles(): Promise<Array<{ name: string; code: Uint8Array }>> }
      const built = await build.buildBundles()
      const core = built.find((b) => b.name === 'echostream')
      if (!core) throw new Error('the browser preset built no echostream bundle')
      return core.code
    }
  })()
  bundle.catch(() => (bundle = undefined))
  return bundle
}

const CSP = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self' ws: wss:; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

export async function startPageServer(host: string, port: number, wsUrl: () => string): Promise<PageServer> {
  const html = readFileSync(pageFile('index.html'))
  const app = readFileSync(pageFile('app.js'))
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    const reply = (status: number, type: string, body: string | Uint8Array) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'content-security-policy': CSP, 'referrer-policy': 'no-referrer' })
      res.end(req.method === 'HEAD' ? undefined : body)
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'text/plain', 'GET only\n')
    if (path === '/' || path === '/index.html') return reply(200, 'text/html; charset=utf-8', html)
    if (path === '/app.js') return reply(200, 'text/javascript', app)
    if (path === '/config.json') return reply(200, 'application/json', JSON.stringify({ url: wsUrl() }))
    if (path === '/echostream.js') {
      browserBundle().then(
        (code) => reply(200, 'text/javascript', code),
        (error) => reply(500, 'text/plain', `the browser bundle is missing: ${messageOf(error)}\n`),
      )
      return
    }
    if (path === '/favicon.ico') return reply(204, 'text/plain', '')
    reply(404, 'text/plain', 'not found: the devtools page is at /\n')
  })
  return listenHttp(server, host, port, (error) => devtoolsErrors.listen(host, port, messageOf(error)))
}
