/**
 * `pnpm start`: everything on this machine, one command. Starts a local redis-server on a free
 * loopback port (append-only file in `.chat-data/redis`, so messages survive a restart of Redis
 * too), two chat nodes on it, and the web page's static server. Ctrl-C stops it all.
 *
 *   PORT=8080 pnpm start         the page's port (default 5173; 0 = any free one)
 *   REDIS_URL=redis://… pnpm start   use a Redis you run instead of starting one
 *   CHAT_DATA=dir                where messages (Redis AOF) and files go (default .chat-data)
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startRedisServer } from '@echostream/plugin-cluster/redis-server'
import { startWeb } from './web.js'

const here = dirname(fileURLToPath(import.meta.url))
const dataDir = resolve(process.env.CHAT_DATA ?? '.chat-data')
mkdirSync(join(dataDir, 'redis'), { recursive: true })
const children: ChildProcess[] = []
const stopAll = () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
}
process.on('exit', stopAll)
process.on('SIGINT', () => process.exit(0))
process.on('SIGTERM', () => process.exit(0))

/** Starts a child; resolves with the first stdout line matching `ready`. */
function start(command: string, args: string[], env: NodeJS.ProcessEnv, ready: RegExp, label: string): Promise<RegExpMatchArray> {
  const child = spawn(command, args, { cwd: process.cwd(), env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  return new Promise((resolveLine, reject) => {
    let buffer = ''
    let found = false
    child.stdout!.on('data', (chunk) => {
      buffer += chunk
      let nl
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl)
        buffer = buffer.slice(nl + 1)
        const match = !found && line.match(ready)
        if (match) {
          found = true
          resolveLine(match)
        } else if (found) console.log(`[${label}] ${line}`)
      }
    })
    child.stderr!.on('data', (chunk) => process.stderr.write(`[${label}] ${chunk}`))
    child.once('exit', (code) => {
      if (!found) reject(new Error(`${label} exited with ${code} before it was ready`))
      else console.log(`[${label}] exited (${code})`)
    })
  })
}

let redisUrl = process.env.REDIS_URL
if (!redisUrl) {
  // `dir`: an append-only file fsynced on every write, so a message acknowledged to its sender is on disk.
  const redis = await startRedisServer({ dir: join(dataDir, 'redis') })
  children.push(redis.child)
  redisUrl = redis.url
}
const secret = process.env.CHAT_SECRET ?? randomBytes(24).toString('base64url')
const nodes = await Promise.all(
  ['a', 'b'].map((id) =>
    start(process.execPath, ['--conditions=development', '--import', 'tsx', join(here, 'node.ts')], { NODE_ID: id, REDIS_URL: redisUrl, PORT: '0', DATA_DIR: dataDir, CHAT_SECRET: secret }, /^listening (\S+)/, `node ${id}`).then((m) => m[1]!),
  ),
)
writeFileSync(join(dataDir, 'urls.json'), JSON.stringify(nodes))
const web = await startWeb({ urls: nodes, port: Number(process.env.PORT ?? 5173) })
console.log(`chat: redis ${redisUrl}, nodes ${nodes.join(' ')}
  web:      open ${web.origin} (users ada/lovelace, bob/builder, cy/cypher)
  terminal: pnpm --filter @echostream/example-chat client -- --user ada --password lovelace`)
