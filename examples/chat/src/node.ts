/**
 * One chat node as a process: `REDIS_URL`, `DATA_DIR`, `CHAT_SECRET` (required: the same on every
 * node), `NODE_ID`, `PORT` (0: any free port), `HOST`. Prints `listening <url> <nodeId>` once up;
 * SIGTERM/SIGINT stop it cleanly.
 */
import { createChatNode } from './server.js'

const env = process.env
if (!env.CHAT_SECRET) {
  console.error('chat node: set CHAT_SECRET (the same on every node: it signs login tokens), or start everything with `pnpm start`')
  process.exit(2)
}
const node = await createChatNode({
  redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  dataDir: env.DATA_DIR ?? '.chat-data',
  secret: env.CHAT_SECRET,
  nodeId: env.NODE_ID,
  port: Number(env.PORT ?? 0),
  host: env.HOST ?? '127.0.0.1',
  graceMs: env.GRACE_MS ? Number(env.GRACE_MS) : undefined,
})
const url = await node.start()
console.log(`listening ${url} ${node.nodeId}`)
const stop = () => void node.stop().then(() => process.exit(0), () => process.exit(1))
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
