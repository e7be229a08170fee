/**
 * One server node of the cross-node fan-out bench (cluster-fanout.mjs), as its own process.
 * BENCH_SPEC = { peer: 'echostream' | 'echostream-resume' | 'socketio', redisUrl, nodeId }.
 * IPC: → { type: 'listening', port }; { type: 'members' } → { type: 'members', n };
 * { type: 'burst', count } emits `count` events to room 'bench' as fast as the loop allows (in
 * slices of 64 so sockets still flush) → { type: 'burst-done' };
 * { type: 'paced', perSecond, durationMs } emits at that rate → { type: 'paced-done', sent }.
 * Every event carries { n, t }: t = performance.timeOrigin + performance.now() in µs.
 */
import { createServer as httpServer } from 'node:http'

const spec = JSON.parse(process.env.BENCH_SPEC)
const send = (msg) => process.send(msg)
const now = () => (performance.timeOrigin + performance.now()) * 1000
process.on('disconnect', () => process.exit(0))

async function echostream(resume) {
  const { createServer } = await import('@echostream/kernel')
  const { default: presetDefault } = await import('@echostream/preset-default')
  const { default: reconnect } = await import('@echostream/plugin-reconnect')
  const { default: cluster } = await import('@echostream/plugin-cluster')
  const plugins = [...(resume ? [reconnect] : []), cluster]
  // Warnings and errors go to stderr: a bench run must not hide a failure.
  const logger = { info() {}, warn: (m) => process.stderr.write(`[${spec.nodeId}] ${m}\n`), error: (m) => process.stderr.write(`[${spec.nodeId}] ${m}\n`) }
  const server = await createServer({ preset: presetDefault, plugins, options: { 'transport-ws': { port: 0, host: '127.0.0.1' }, cluster: { redisUrl: spec.redisUrl, nodeId: spec.nodeId } } }, { logger })
  server.rpc.handle('join', (room, ctx) => {
    ctx.session.join(room)
    return true
  })
  const gaps = []
  server.cluster.on('gap', (gap) => gaps.push(gap))
  await server.start()
  return {
    gaps,
    port: Number(new URL(server.url).port),
    members: () => server.events.in('bench').length,
    emit: (data) => server.events.to('bench').emit('tick', data),
  }
}

async function socketio() {
  const { Server } = await import('socket.io')
  const { createAdapter } = await import('@socket.io/redis-adapter')
  const { Redis } = await import('ioredis')
  const pub = new Redis(spec.redisUrl)
  const sub = pub.duplicate()
  const http = httpServer()
  const io = new Server(http, { transports: ['websocket'], serveClient: false, perMessageDeflate: false, httpCompression: false, adapter: createAdapter(pub, sub) })
  let members = 0
  io.on('connection', (socket) => {
    socket.on('join', (room, ack) => {
      socket.join(room)
      members++
      ack(true)
    })
  })
  await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve))
  return { gaps: [], port: http.address().port, members: () => members, emit: (data) => io.to('bench').emit('tick', data) }
}

const node = spec.peer === 'socketio' ? await socketio() : await echostream(spec.peer === 'echostream-resume')
let n = 0

process.on('message', async (msg) => {
  if (msg.type === 'members') send({ type: 'members', n: node.members() })
  else if (msg.type === 'gaps') send({ type: 'gaps', gaps: node.gaps.splice(0) })
  else if (msg.type === 'burst') {
    for (let i = 0; i < msg.count; i++) {
      node.emit({ n: ++n, t: now() })
      if (i % 64 === 63) await new Promise((resolve) => setImmediate(resolve))
    }
    send({ type: 'burst-done' })
  } else if (msg.type === 'paced') {
    // A tick every 2 ms, emitting what the rate owes by then (timers drift; the count does not).
    const started = performance.now()
    let sent = 0
    await new Promise((resolve) => {
      const timer = setInterval(() => {
        const elapsed = performance.now() - started
        const owed = Math.min(Math.floor((elapsed / 1000) * msg.perSecond), Math.floor((msg.durationMs / 1000) * msg.perSecond))
        while (sent < owed) {
          node.emit({ n: ++n, t: now() })
          sent++
        }
        if (elapsed >= msg.durationMs) {
          clearInterval(timer)
          resolve()
        }
      }, 2)
    })
    send({ type: 'paced-done', sent })
  }
})
send({ type: 'listening', port: node.port })
