/**
 * rpc-websockets 10 (JSON-RPC 2.0 over ws, JSON text). RPC = `client.call('add', params)` against
 * `server.register('add', fn)`; events = `server.event('tick')` + `server.emit('tick', data)` to
 * subscribed clients (`client.subscribe('tick')`). No stream: its wire is JSON text, so binary
 * chunks would have to be base64 strings; the stream metric skips it (see peers/index.mjs).
 */
import { Server, Client } from 'rpc-websockets'

export async function startServer() {
  const server = new Server({ host: '127.0.0.1', port: 0, perMessageDeflate: false })
  server.register('add', (params) => params.a + params.b)
  server.event('tick')
  await new Promise((resolve, reject) => {
    server.once('listening', resolve)
    server.once('error', reject)
  })
  return {
    port: server.wss.address().port,
    connections: () => server.wss.clients.size,
    broadcast(name, data) {
      server.emit(name, data)
    },
    backlog() {
      let max = 0
      for (const ws of server.wss.clients) if (ws.bufferedAmount > max) max = ws.bufferedAmount
      return max
    },
    async stop() {
      for (const ws of server.wss.clients) ws.terminate()
      await server.close()
    },
  }
}

export async function connect(port) {
  const client = new Client(`ws://127.0.0.1:${port}`, { reconnect: false, perMessageDeflate: false })
  await new Promise((resolve, reject) => {
    client.once('open', resolve)
    client.once('error', reject)
  })
  return {
    call(params) {
      return client.call('add', params)
    },
    async onEvent(name, fn) {
      await client.subscribe(name)
      client.on(name, fn)
    },
    async close() {
      client.close()
    },
  }
}
