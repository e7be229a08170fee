/**
 * The terminal client. Logs in through the auth plugin's handshake (`--user`/`--password`), keeps
 * this device's cursors in a state file (so a restart of the client gets what it missed, once),
 * and moves between the nodes' URLs on a reconnect (the cluster plugin's client side).
 *
 *   pnpm --filter @echostream/example-chat client -- --user ada --password lovelace
 *
 * Type `/help` for the commands. `--json` prints one JSON object per event instead (tests use it).
 */
import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { createClient } from '@echostream/kernel'
import presetCluster from '@echostream/preset-cluster'
import auth from '@echostream/plugin-auth'
import streams from '@echostream/plugin-streams'
import { createChat } from '../public/chat-core.js'
import { RECONNECT } from './server.js'

const { values: args } = parseArgs({
  // `pnpm … client -- --user ada`: the separator may reach us
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: {
    user: { type: 'string' },
    password: { type: 'string' },
    urls: { type: 'string', default: process.env.CHAT_URLS },
    state: { type: 'string' },
    downloads: { type: 'string', default: 'downloads' },
    'auto-download': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
})

const HELP = `commands:
  <text>                      to the conversation you wrote to last
  /to <user|conv> <text>      a direct message (user) or to a conversation (dm:…, g:…)
  /join <group>               join (or create) a group; its conversation is g:<group>
  /file <user|conv> <path>    send a file (resumes by itself after a cut)
  /get <fileId>               download a file you were sent into --downloads
  /read <conv>                mark a conversation read up to what you have
  /typing <conv>              tell the others you are typing
  /who                        users and who is online
  /quit`

if (args.help || !args.user || !args.password) {
  console.log(`usage: client --user NAME --password PASSWORD [--urls ws://…,ws://…] [--state FILE] [--downloads DIR] [--auto-download] [--json]\n${HELP}`)
  process.exit(args.help ? 0 : 2)
}

function defaultUrls(): string {
  const file = join(process.env.CHAT_DATA ?? '.chat-data', 'urls.json')
  if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as string[]).join(',')
  return 'ws://127.0.0.1:5001,ws://127.0.0.1:5002'
}
const urls = (args.urls ?? defaultUrls()).split(',').filter(Boolean)
const statePath = resolve(args.state ?? join(process.env.CHAT_DATA ?? '.chat-data', `terminal-${args.user}.json`))
const json = args.json

const out = (event: Record<string, unknown>, human?: string) => {
  if (json) process.stdout.write(`${JSON.stringify(event)}\n`)
  else if (human !== undefined) console.log(human)
}

const storage = {
  load(user: string): Record<string, number> {
    try {
      return (JSON.parse(readFileSync(statePath, 'utf8')) as Record<string, Record<string, number>>)[user] ?? {}
    } catch {
      return {}
    }
  },
  save(user: string, cursors: Record<string, number>): void {
    writeFileSync(statePath, JSON.stringify({ [user]: cursors }))
  },
}

let bar = ''
function progress(dir: 'up' | 'down', fileId: string, done: number, size: number): void {
  if (json) {
    out({ type: 'progress', dir, fileId, done, size })
    return
  }
  const width = 30
  const filled = size ? Math.round((done / size) * width) : width
  const line = `${dir === 'up' ? 'sending  ' : 'receiving'} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${((done / Math.max(1, size)) * 100).toFixed(0).padStart(3)}% ${(done / 1e6).toFixed(1)}/${(size / 1e6).toFixed(1)} MB`
  if (line !== bar) process.stderr.write(`\r${line}${done === size ? '\n' : ''}`)
  bar = line
}

const client = await createClient({
  preset: presetCluster,
  plugins: [auth, streams],
  options: {
    cluster: { urls },
    auth: { credentials: { user: args.user, password: args.password } },
    reconnect: { initialDelayMs: 100, maxDelayMs: 1000, ...RECONNECT },
  },
})
const chat = createChat({ client, storage, setCredentials: (c: unknown) => client.auth.setCredentials(c as never) })
client.cluster.on('failover', (e) => out({ type: 'failover', url: e.url }, `… trying ${e.url}`))
client.cluster.on('recovery', (e) => out({ type: 'recovery', ...e }, e.recovered ? `… resumed on node ${e.node}` : `… new session (${e.reason ?? 'not recovered'})`))

const files = new Map<string, { id: string; name: string; size: number; sha256: string }>()
let lastConv = ''

chat.on('message', (m: { conv: string; seq: number; from: string; text?: string; file?: { id: string; name: string; size: number; sha256: string } }) => {
  lastConv = m.conv
  out({ type: 'message', ...m }, m.file ? `[${m.conv} #${m.seq}] ${m.from} sent ${m.file.name} (${m.file.size} bytes) — /get ${m.file.id}` : `[${m.conv} #${m.seq}] ${m.from}: ${m.text}`)
  if (m.file) {
    files.set(m.file.id, m.file)
    if (args['auto-download'] && m.from !== chat.state.user) void get(m.file.id)
  }
})
chat.on('presence', (p: { user: string; online: boolean }) => out({ type: 'presence', ...p }, `* ${p.user} is ${p.online ? 'online' : 'offline'}`))
chat.on('typing', (t: { conv: string; user: string }) => out({ type: 'typing', ...t }, `* ${t.user} is typing in ${t.conv}`))
chat.on('read', (r: { conv: string; user: string; seq: number }) => out({ type: 'read', ...r }, `* ${r.user} read ${r.conv} up to #${r.seq}`))
chat.on('conv', (c: { id: string; title: string }) => out({ type: 'conv', id: c.id, title: c.title }, `* conversation ${c.id} (${c.title})`))
chat.on('upload-resume', (r: { fileId: string; offset: number }) => out({ type: 'upload-resume', ...r }, `\n… resuming the upload at byte ${r.offset}`))
chat.on('download-resume', (r: { fileId: string; offset: number }) => out({ type: 'download-resume', ...r }, `\n… resuming the download at byte ${r.offset}`))
chat.on('error', (e: Error) => out({ type: 'error', message: e.message }, `! ${e.message}`))

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

async function send(target: string, path: string): Promise<void> {
  const full = resolve(path)
  const size = statSync(full).size
  const sha256 = await sha256Of(full)
  const handle = await open(full, 'r')
  try {
    const file = {
      name: basename(full),
      size,
      sha256,
      async read(offset: number, length: number) {
        const buffer = Buffer.alloc(length)
        const { bytesRead } = await handle.read(buffer, 0, length, offset)
        return buffer.subarray(0, bytesRead)
      },
    }
    const { fileId } = await chat.upload(target, file, (done: number, total: number) => progress('up', '', done, total))
    out({ type: 'uploaded', fileId, sha256, size }, `sent ${file.name} (${size} bytes, sha256 ${sha256.slice(0, 12)}…)`)
  } finally {
    await handle.close()
  }
}

async function get(fileId: string): Promise<void> {
  const file = files.get(fileId)
  if (!file) return out({ type: 'error', message: `no file ${fileId}` }, `! no file ${fileId} in this session's messages`)
  mkdirSync(args.downloads!, { recursive: true })
  const path = join(args.downloads!, `${file.id}-${file.name}`)
  const sink = createWriteStream(path)
  await chat.download(file, { write: (chunk: Uint8Array) => new Promise<void>((done) => (sink.write(chunk) ? done() : sink.once('drain', done))) }, (done: number, total: number) => progress('down', file.id, done, total))
  await new Promise<void>((done) => sink.end(done))
  const sha256 = await sha256Of(path)
  out({ type: 'downloaded', fileId, path, sha256, ok: sha256 === file.sha256 }, `saved ${path} — sha256 ${sha256 === file.sha256 ? 'verified' : 'MISMATCH'}`)
}

async function command(line: string): Promise<void> {
  const [word, ...rest] = line.trim().split(/\s+/)
  if (!word) return
  const text = (n: number) => line.trim().split(/\s+/).slice(n).join(' ')
  switch (word) {
    case '/help':
      return void console.log(HELP)
    case '/quit':
      await client.stop()
      process.exit(0)
      break
    case '/who': {
      const who = (await chat.who()) as { users: string[]; online: string[] }
      return out({ type: 'who', ...who }, `users: ${who.users.join(', ')}; online: ${who.online.join(', ')}`)
    }
    case '/to': {
      const result = (await chat.send(rest[0]!, text(2))) as { conv: string; seq: number }
      lastConv = result.conv
      return out({ type: 'sent', ...result })
    }
    case '/join': {
      const conv = (await chat.joinGroup(rest[0]!)) as string
      lastConv = conv
      return out({ type: 'joined', conv }, `joined ${conv}`)
    }
    case '/file':
      return send(rest[0]!, text(2))
    case '/get':
      return get(rest[0]!)
    case '/read':
      chat.markRead(rest[0]!, chat.state.cursors[rest[0]!] ?? 0)
      return out({ type: 'marked', conv: rest[0] })
    case '/typing':
      return chat.typing(rest[0]!)
    default: {
      if (word.startsWith('/')) return out({ type: 'error', message: `unknown command ${word}` }, `! unknown command ${word} (/help)`)
      if (!lastConv) return out({ type: 'error', message: 'no conversation yet' }, '! no conversation yet: /to <user> <text> first')
      const result = (await chat.send(lastConv, line.trim())) as { conv: string; seq: number }
      return out({ type: 'sent', ...result })
    }
  }
}

try {
  await client.start()
  await chat.start()
} catch (error) {
  out({ type: 'error', message: (error as Error).message, code: (error as { code?: string }).code }, `! ${(error as Error).message}`)
  process.exit(1)
}
out({ type: 'ready', user: chat.state.user, node: client.cluster.nodeId, online: [...chat.state.online] }, `logged in as ${chat.state.user} on node ${client.cluster.nodeId}; online: ${[...chat.state.online].join(', ')} (/help)`)

// Commands run one after another, in the order typed.
let queue = Promise.resolve()
createInterface({ input: process.stdin }).on('line', (line) => {
  queue = queue.then(() =>
    command(line).catch((error: { message: string; code?: string }) => out({ type: 'error', message: error.message, code: error.code, line }, `! ${error.code ?? ''} ${error.message}`)),
  )
})
process.on('SIGTERM', () => void client.stop().then(() => process.exit(0)))
