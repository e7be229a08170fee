/** The conformance adapter for transport-ws: raw peers are plain `ws` sockets. */
import type { AddressInfo } from 'node:net'
import { WebSocket, WebSocketServer } from 'ws'
import transportWs from '@echostream/plugin-transport-ws'
import { onCleanup } from './fixtures.js'
import { LinkRecord, type RawLink, type RawServer, type TransportUnderTest } from './transport-link.js'

interface NetSocket {
  pause(): void
  resume(): void
}

/** Wraps an open ws socket (either end) as a RawLink; pongs are sent by hand so they can stop. */
function link(ws: WebSocket): RawLink {
  const record = new LinkRecord()
  let answerPings = true
  ws.binaryType = 'nodebuffer'
  ws.on('message', (data: Buffer) => void record.messages.push(new Uint8Array(data)))
  ws.on('ping', (data: Buffer) => {
    record.pings++
    if (answerPings && ws.readyState === WebSocket.OPEN) ws.pong(data)
  })
  ws.on('close', (code: number, reason: Buffer) => record.closedWith(code, reason.toString()))
  ws.on('error', () => {})
  onCleanup(() => ws.terminate())
  const raw = () => (ws as unknown as { _socket: NetSocket })._socket
  return {
    get messages() {
      return record.messages
    },
    get pings() {
      return record.pings
    },
    get closeInfo() {
      return record.closeInfo
    },
    closed: record.closed,
    send: (bytes) => ws.send(bytes, { binary: true }),
    pause: () => raw().pause(),
    resume: () => raw().resume(),
    ignorePings: () => void (answerPings = false),
    close: (code, reason) => ws.close(code, reason),
    destroy: () => ws.terminate(),
  }
}

export const wsTransport: TransportUnderTest = {
  name: 'ws',
  plugin: transportWs,
  key: 'transport-ws',
  scheme: 'ws',
  secureScheme: 'wss',

  async rawClient(url) {
    const ws = new WebSocket(url, { perMessageDeflate: false, autoPong: false })
    const opened = new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve())
      ws.once('error', reject)
    })
    const raw = link(ws)
    await opened
    return raw
  },

  async rawServer(): Promise<RawServer> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, autoPong: false })
    const waiting: Array<(link: RawLink) => void> = []
    const unclaimed: RawLink[] = []
    wss.on('connection', (ws) => {
      const raw = link(ws)
      const next = waiting.shift()
      if (next) next(raw)
      else unclaimed.push(raw)
    })
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()))
    const close = () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate()
        wss.close(() => resolve())
      })
    onCleanup(close)
    return {
      url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`,
      accept: () => (unclaimed.length ? Promise.resolve(unclaimed.shift()!) : new Promise((resolve) => waiting.push(resolve))),
      close,
    }
  },
}
