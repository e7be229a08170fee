/**
 * One node of the cluster: `PORT`, `REDIS_URL`, `NODE_ID`; with `TICKER=1` it also publishes a
 * numbered `tick` to the room 'lobby' every 50 ms. Prints `listening <url>` once up.
 */
import { createServer, type Session } from '@echostream/kernel'
import presetCluster from '@echostream/preset-cluster'

const nodeId = process.env.NODE_ID ?? 'node'
const server = await createServer({
  preset: presetCluster,
  options: {
    'transport-ws': { port: Number(process.env.PORT ?? 0), host: '127.0.0.1' },
    cluster: { redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', nodeId, heartbeatMs: 250, nodeTtlMs: 1000 },
  },
})

server.rpc.handle('join', (room: string, ctx) => {
  ctx.session.join(room)
  return nodeId
})
server.rpc.handle('where', (_: unknown, ctx) => ({ node: nodeId, session: ctx.session.id }))
server.events.on('chat', (n: number, session: Session) => console.log(`[${nodeId}] chat ${n} from ${session.id}`))
server.cluster.on('presence', (change) => console.log(`[${nodeId}] presence: ${change.sessionId} ${change.type === 'join' ? 'joined' : 'left'} ${change.room || '(online)'}${change.reason ? ` (${change.reason})` : ''}`))
server.cluster.on('recovery', ({ session, recovered, reason }) => console.log(`[${nodeId}] ${recovered ? 'took over' : 'could not resume'} session ${(session as Session).id}${reason ? ` (${reason})` : ''}`))

await server.start()
console.log(`listening ${server.url}`)

if (process.env.TICKER === '1') {
  let n = 0
  setInterval(() => server.events.to('lobby').emit('tick', { n: ++n, from: nodeId }), 50)
}
process.on('SIGTERM', () => void server.stop().then(() => process.exit(0)))
process.on('SIGINT', () => void server.stop().then(() => process.exit(0)))
