/**
 * browser-chat: one command (`pnpm start`) serves a chat page on http://127.0.0.1:5173 and the
 * echostream server it talks to. The page loads the prebuilt bundle with a plain
 * `<script type="module">` (no bundler), joins with an RPC and chats with room events.
 *   PORT=8080 pnpm start     another page port (0: any free one)
 */
import { createServer as createHttpServer } from 'node:http'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { EchoError, type Session } from '@echostream/kernel'
import { createServer } from '@echostream/node'
import type {} from '@echostream/preset-browser'
import { buildBundles } from '@echostream/preset-browser/build'

const here = dirname(fileURLToPath(import.meta.url))
const port = Number(process.env.PORT ?? 5173)

interface Message {
  from: string
  text: string
  at: number
}

// The same plugins the page's bundle speaks: transport-ws, codec-msgpack, rpc, events, reconnect.
const chat = await createServer({ preset: '@echostream/preset-browser', options: { 'transport-ws': { port: 0, host: '127.0.0.1' } } }, { cwd: here })
const history: Message[] = []
const names = (): string[] => chat.events.in('lobby').map((s) => String(s.data.get('name')))

chat.rpc.handle('chat.join', ({ name }: { name: string }, ctx: { session: Session }) => {
  const clean = typeof name === 'string' ? name.trim().slice(0, 24) : ''
  if (!clean) throw new EchoError('E_NAME_REQUIRED', 'Pick a name to join the chat.')
  ctx.session.data.set('name', clean)
  ctx.session.join('lobby')
  chat.events.to('lobby').emit('chat.presence', { online: names() })
  return { history: history.slice(-20), online: names() }
})
chat.rpc.handle('chat.who', () => names())
chat.events.on('chat.say', (text: unknown, session: Session) => {
  const from = session.data.get('name')
  if (typeof from !== 'string' || typeof text !== 'string' || !text.trim()) return
  const message = { from, text: text.slice(0, 500), at: Date.now() }
  history.push(message)
  if (history.length > 100) history.shift()
  chat.events.to('lobby').emit('chat.message', message)
})
chat.on('disconnect', () => void setImmediate(() => chat.events.to('lobby').emit('chat.presence', { online: names() })))
await chat.start()

const [core] = await buildBundles()
const files: Record<string, [string, string | Uint8Array]> = {
  '/': ['text/html', readFileSync(join(here, 'public/index.html'))],
  '/app.js': ['text/javascript', readFileSync(join(here, 'public/app.js'))],
  '/echostream.js': ['text/javascript', core!.code],
  '/config.json': ['application/json', JSON.stringify({ url: chat.url })],
}
const http = createHttpServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://x').pathname
  if (path === '/favicon.ico') return void res.writeHead(204).end()
  const file = files[path]
  if (!file) return void res.writeHead(404).end('not found')
  res.writeHead(200, { 'content-type': file[0] }).end(file[1])
})
http.listen(port, '127.0.0.1', () => {
  const address = http.address()
  console.log(`browser-chat: open http://127.0.0.1:${typeof address === 'object' && address ? address.port : port} in a browser (echostream at ${chat.url})`)
})
const stop = () => void chat.stop().then(() => http.close(() => process.exit(0)))
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
