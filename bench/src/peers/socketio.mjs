/**
 * socket.io 4 (server `socket.io`, client `socket.io-client`), WebSocket transport only, default
 * parser. RPC = `emitWithAck('add', params)` answered by the handler's ack callback; events =
 * `io.emit` (the adapter encodes a broadcast once); stream = binary `emit('chunk', buffer, ack)`
 * with at most 16 unacknowledged chunks (1 MiB) in flight — the credit window a socket.io user
 * writes, as socket.io has no stream flow control of its own.
 */
import { createServer } from 'node:http'
import { Server } from 'socket.io'
import { io } from 'socket.io-client'

const WINDOW = 16

export async function startServer() {
  const http = createServer()
  const server = new Server(http, { transports: ['websocket'], serveClient: false, perMessageDeflate: false, httpCompression: false, maxHttpBufferSize: 1 << 20 })
  server.on('connection', (socket) => {
    socket.on('add', (params, ack) => ack(params.a + params.b))
    let bytes = 0
    socket.on('chunk', (chunk, ack) => {
      bytes += chunk.length
      ack()
    })
    socket.on('end', (ack) => {
      ack(bytes)
      bytes = 0
    })
  })
  await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve))
  return {
    port: http.address().port,
    connections: () => server.of('/').sockets.size,
    broadcast(name, data) {
      server.emit(name, data)
    },
    backlog() {
      let max = 0
      for (const socket of server.of('/').sockets.values()) {
        const conn = socket.conn
        // Packets waiting in engine.io's buffer (≈ 32 bytes each here) plus bytes in the ws socket.
        const buffered = conn.writeBuffer.length * 32 + (conn.transport?.socket?.bufferedAmount ?? 0)
        if (buffered > max) max = buffered
      }
      return max
    },
    async stop() {
      server.disconnectSockets(true)
      await new Promise((resolve) => server.close(() => resolve()))
    },
  }
}

export async function connect(port) {
  const socket = io(`ws://127.0.0.1:${port}`, { transports: ['websocket'], forceNew: true, reconnection: false, perMessageDeflate: false })
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('connect_error', reject)
  })
  return {
    call(params) {
      return socket.emitWithAck('add', params)
    },
    onEvent(name, fn) {
      socket.on(name, fn)
    },
    async openStream() {
      let inflight = 0
      let wake
      const acked = () => {
        inflight--
        const w = wake
        wake = undefined
        w?.()
      }
      return {
        async write(chunk) {
          inflight++
          socket.emit('chunk', chunk, acked)
          while (inflight >= WINDOW) await new Promise((resolve) => (wake = resolve))
        },
        async end() {
          return socket.emitWithAck('end')
        },
      }
    },
    async close() {
      socket.disconnect()
    },
  }
}
