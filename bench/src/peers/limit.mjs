/**
 * The limit: raw `ws` + `msgpackr` with the smallest request-id protocol that does the job, written
 * as tight as we can. No framework on this stack should beat it; it is the yardstick.
 *
 * Wire (one WebSocket message per frame, as echostream's PROTOCOL.md; plain MessagePack arrays):
 *   request  client → server  [id, method, params]
 *   reply    server → client  [id, result]
 *   event    server → client  [0, name, data]        (id 0 is never a request id)
 * Stream metric: every binary message is a raw chunk (no envelope); the text message `end` asks the
 * server for the byte count, which it answers as text.
 *
 * Batching: every write made in one event-loop turn is coalesced into one socket write by corking
 * the net socket on the first write of a turn and uncorking it on `process.nextTick` — the same
 * technique transport-ws uses. Messages are not merged (one reply per message), so the limit bounds
 * what echostream can reach without changing its wire.
 */
import { WebSocketServer, WebSocket } from 'ws'
import { Packr } from 'msgpackr'

const packrOptions = { useRecords: false, moreTypes: false, mapsAsObjects: true, encodeUndefinedAsNil: true }
/** Slots of the pending-call table (a power of two, far above the 64 calls ever in flight). */
const PENDING_SLOTS = 1024

/** Coalesces the writes of one turn into one socket write (cork now, uncork on the next tick). */
function corker(ws) {
  let corked = false
  const uncork = () => {
    corked = false
    ws._socket.uncork()
  }
  return function send(bytes, binary = true) {
    if (!corked && ws._socket) {
      corked = true
      ws._socket.cork()
      process.nextTick(uncork)
    }
    ws.send(bytes, { binary })
  }
}

export async function startServer({ mode }) {
  const packr = new Packr(packrOptions)
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, clientTracking: false, maxPayload: 1 << 20 })
  const sockets = new Map() // ws → its corking send
  wss.on('connection', (ws) => {
    ws.binaryType = 'nodebuffer'
    const send = corker(ws)
    sockets.set(ws, send)
    ws.on('close', () => sockets.delete(ws))
    if (mode === 'stream' || mode === 'stream-tuned') {
      let bytes = 0
      ws.on('message', (data, isBinary) => {
        if (isBinary) bytes += data.length
        else {
          send(String(bytes), false)
          bytes = 0
        }
      })
      return
    }
    ws.on('message', (data) => {
      const [id, method, params] = packr.unpack(data)
      if (method === 'add') send(packr.pack([id, params.a + params.b]))
      else send(packr.pack([id, null]))
    })
  })
  await new Promise((resolve, reject) => {
    wss.once('listening', resolve)
    wss.once('error', reject)
  })
  return {
    port: wss.address().port,
    connections: () => sockets.size,
    broadcast(name, data) {
      // Encoded once, the same bytes to every socket; each socket corks for this turn.
      const bytes = packr.pack([0, name, data])
      for (const send of sockets.values()) send(bytes)
    },
    backlog() {
      let max = 0
      for (const ws of sockets.keys()) if (ws.bufferedAmount > max) max = ws.bufferedAmount
      return max
    },
    async stop() {
      for (const ws of sockets.keys()) ws.terminate()
      await new Promise((resolve) => wss.close(resolve))
    },
  }
}

export async function connect(port) {
  const packr = new Packr(packrOptions)
  const ws = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false, maxPayload: 1 << 20 })
  ws.binaryType = 'nodebuffer'
  await new Promise((resolve, reject) => {
    ws.once('open', resolve)
    ws.once('error', reject)
  })
  const send = corker(ws)
  // Pending calls: an array indexed by id modulo PENDING_SLOTS (more slots than calls ever in
  // flight), as echostream's rpc keeps them, made on the first call (10,000 idle connections make
  // none). A Map with a set and a delete per call costs ~220 ns a call on this machine (V8 rebuilds
  // a small hash table every few deletions), 15 % of the whole in-process call
  // (src/call-floor.mjs): the yardstick must not carry that.
  let pending
  const listeners = new Map()
  let textWaiter
  let nextId = 1
  ws.on('message', (data, isBinary) => {
    if (!isBinary) {
      const w = textWaiter
      textWaiter = undefined
      w?.(Number(String(data)))
      return
    }
    const msg = packr.unpack(data)
    if (msg.length === 2) {
      const slot = msg[0] & (PENDING_SLOTS - 1)
      const resolve = pending?.[slot]
      if (resolve) pending[slot] = undefined
      resolve?.(msg[1])
    } else {
      const fn = listeners.get(msg[1])
      if (fn) fn(msg[2])
    }
  })
  const raw = ws._socket
  const whenDrained = () => new Promise((resolve) => raw.once('drain', resolve))
  const HIGH_WATER = 1 << 20
  return {
    call(params) {
      const id = nextId++
      if (nextId > 0x3fffffff) nextId = 1
      return new Promise((resolve) => {
        ;(pending ??= new Array(PENDING_SLOTS))[id & (PENDING_SLOTS - 1)] = resolve
        send(packr.pack([id, 'add', params]))
      })
    },
    onEvent(name, fn) {
      listeners.set(name, fn)
    },
    async openStream() {
      return {
        async write(chunk) {
          ws.send(chunk, { binary: true })
          // Backpressure as tight as ws allows: wait for the net socket to drain past the mark.
          if (ws.bufferedAmount > HIGH_WATER) await whenDrained()
        },
        end() {
          return new Promise((resolve) => {
            textWaiter = resolve
            ws.send('end', { binary: false })
          })
        },
      }
    },
    async close() {
      if (ws.readyState === WebSocket.CLOSED) return
      await new Promise((resolve) => {
        ws.once('close', resolve)
        ws.close()
      })
    },
  }
}
