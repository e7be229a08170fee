/**
 * One command: starts its own redis-server (persistence off, a free port), three nodes, and a
 * client connected to the first node. The client joins 'lobby' (node c publishes a numbered tick
 * there every 50 ms) and sends a numbered 'chat' every 100 ms. Then node a is killed (SIGKILL):
 * the client moves to node b, resumes the same session, and neither direction loses or repeats
 * an event. `DEMO_SECONDS` (default 6) sets how long it runs.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createClient } from '@echostream/kernel'
import { startRedisServer } from '@echostream/plugin-cluster/redis-server'
import presetCluster from '@echostream/preset-cluster'

const here = dirname(fileURLToPath(import.meta.url))
const seconds = Number(process.env.DEMO_SECONDS ?? 6)
const children: ChildProcess[] = []
const stopAll = () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
}
process.on('exit', stopAll)

/** Starts a child and resolves with the first line matching `ready`; its other lines are echoed. */
function start(command: string, args: string[], env: NodeJS.ProcessEnv, ready: RegExp, label: string): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  const child = spawn(command, args, { cwd: here, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  return new Promise((resolve, reject) => {
    let buffer = ''
    let found = false
    const timer = setTimeout(() => reject(new Error(`${label} did not start`)), 20_000)
    child.stdout!.on('data', (chunk) => {
      buffer += chunk
      let nl
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl)
        buffer = buffer.slice(nl + 1)
        const match = !found && line.match(ready)
        if (match) {
          found = true
          clearTimeout(timer)
          resolve({ child, match })
        } else if (found) console.log(line)
      }
    })
    child.stderr!.on('data', (chunk) => process.stderr.write(`${label}: ${chunk}`))
    child.once('exit', (code) => {
      if (!found) reject(new Error(`${label} exited with ${code}`))
    })
  })
}

const redis = await startRedisServer()
children.push(redis.child)
const redisUrl = redis.url
console.log(`redis-server on ${redisUrl}`)

const nodes = await Promise.all(
  ['a', 'b', 'c'].map((id) =>
    start(process.execPath, ['--conditions=development', '--import', 'tsx', join(here, 'node.ts')], { NODE_ID: id, REDIS_URL: redisUrl, PORT: '0', TICKER: id === 'c' ? '1' : '0' }, /^listening (\S+)/, `node ${id}`).then(({ child, match }) => ({ id, child, url: match[1]! })),
  ),
)
for (const node of nodes) console.log(`node ${node.id} on ${node.url}`)

const client = await createClient({ preset: presetCluster, options: { cluster: { urls: nodes.map((n) => n.url) }, reconnect: { initialDelayMs: 100, maxDelayMs: 500 } } })
await client.start()
const ticks: number[] = []
client.events.on('tick', ({ n }: { n: number }) => ticks.push(n))
client.cluster.on('failover', ({ url }) => console.log(`client: trying ${url}`))
client.cluster.on('recovery', (e) => console.log(`client: ${e.recovered ? `resumed on node ${e.node}` : `NOT recovered (${e.reason})`}`))
const first = (await client.rpc.request('where', null)) as { node: string; session: string }
console.log(`client: session ${first.session} on node ${first.node}`)
await client.rpc.request('join', 'lobby')

let chat = 0
const chatter = setInterval(() => client.events.emit('chat', ++chat), 100)
await new Promise((resolve) => setTimeout(resolve, (seconds * 1000) / 3))

const victim = nodes.find((n) => n.id === first.node)!
console.log(`--- killing node ${victim.id} (SIGKILL) ---`)
victim.child.kill('SIGKILL')
await new Promise((resolve) => setTimeout(resolve, (seconds * 2000) / 3))
clearInterval(chatter)

const after = (await client.rpc.request('where', null)) as { node: string; session: string }
const start0 = ticks[0] ?? 0
const contiguous = ticks.every((n, i) => n === start0 + i)
console.log(`client: session ${after.session} on node ${after.node} (same session: ${after.session === first.session})`)
console.log(`summary: ${ticks.length} ticks received, ${contiguous ? 'in order with no gap and no repeat' : 'WITH GAPS OR REPEATS'}; sent ${chat} chats; failover ${first.node} -> ${after.node}`)
await client.stop()
stopAll()
process.exitCode = contiguous && after.session === first.session && after.node !== first.node ? 0 : 1
