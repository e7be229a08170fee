/**
 * The conformance adapter for transport-tcp. Its raw peers speak the framing of PROTOCOL.md ("TCP
 * transport") with code written here from the document, not the plugin's receiver and sender — so
 * the suite also checks that the document is enough to write a peer.
 *
 *   preamble: 45 43 48 4f 54 43 50 01 ("ECHOTCP" + version 1), each way
 *   frame:    [type u8][length u32 BE][body]; 1 message, 2 ping, 3 pong, 4 close (u16 code + reason)
 */
import { createServer, connect, type AddressInfo, type Socket } from 'node:net'
import transportTcp from '@echostream/plugin-transport-tcp'
import { onCleanup } from './fixtures.js'
import { LinkRecord, type RawLink, type RawServer, type TransportUnderTest } from './transport-link.js'

export const TCP_PREAMBLE = Buffer.from('ECHOTCP\x01', 'latin1')
export const MESSAGE = 1
export const PING = 2
export const PONG = 3
export const CLOSE = 4

export function tcpFrame(type: number, body: Uint8Array = new Uint8Array(0)): Buffer {
  const out = Buffer.alloc(5 + body.byteLength)
  out[0] = type
  out.writeUInt32BE(body.byteLength, 1)
  out.set(body, 5)
  return out
}

export function tcpCloseFrame(code: number, reason: string): Buffer {
  const text = Buffer.from(reason)
  const body = Buffer.alloc(2 + text.byteLength)
  body.writeUInt16BE(code, 0)
  text.copy(body, 2)
  return tcpFrame(CLOSE, body)
}

/** A raw TCP link on an open socket: checks the peer's preamble, then parses frames. Writes its own preamble. */
export function tcpLink(socket: Socket): RawLink & { socket: Socket; preamble: Promise<void> } {
  const record = new LinkRecord()
  let answerPings = true
  let buffered = Buffer.alloc(0)
  let gotPreamble = false
  let closeFrame: { code: number; reason: string } | undefined
  let preambleArrived!: () => void
  const preamble = new Promise<void>((resolve) => (preambleArrived = resolve))
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk])
    if (!gotPreamble) {
      if (buffered.length < 8) return
      if (!buffered.subarray(0, 8).equals(TCP_PREAMBLE)) return socket.destroy()
      gotPreamble = true
      buffered = buffered.subarray(8)
      preambleArrived()
    }
    while (buffered.length >= 5) {
      const type = buffered[0]!
      const length = buffered.readUInt32BE(1)
      if (buffered.length < 5 + length) return
      const body = Buffer.from(buffered.subarray(5, 5 + length))
      buffered = buffered.subarray(5 + length)
      if (type === MESSAGE) record.messages.push(new Uint8Array(body))
      else if (type === PING) {
        record.pings++
        if (answerPings && socket.writable) socket.write(tcpFrame(PONG, body))
      } else if (type === CLOSE) {
        closeFrame = { code: body.readUInt16BE(0), reason: body.subarray(2).toString('utf8') }
        if (socket.writable) socket.end()
      }
    }
  })
  socket.on('close', () => record.closedWith(closeFrame?.code ?? 1006, closeFrame?.reason ?? ''))
  socket.on('error', () => {})
  onCleanup(() => socket.destroy())
  socket.write(TCP_PREAMBLE)
  return {
    socket,
    preamble,
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
    send: (bytes) => void socket.write(tcpFrame(MESSAGE, bytes)),
    pause: () => void socket.pause(),
    resume: () => void socket.resume(),
    ignorePings: () => void (answerPings = false),
    close(code, reason) {
      closeFrame ??= { code, reason }
      socket.end(tcpCloseFrame(code, reason))
    },
    destroy: () => void socket.destroy(),
  }
}

/** Opens a raw TCP socket to `url` (tcp://host:port) without writing anything yet. */
export function openTcpSocket(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url)
  const socket = connect({ host: hostname, port: Number(port) })
  onCleanup(() => socket.destroy())
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket))
    socket.once('error', reject)
  })
}

export const tcpTransport: TransportUnderTest = {
  name: 'tcp',
  plugin: transportTcp,
  key: 'transport-tcp',
  scheme: 'tcp',
  secureScheme: 'tcps',

  async rawClient(url) {
    const link = tcpLink(await openTcpSocket(url))
    await link.preamble
    return link
  },

  async rawServer(): Promise<RawServer> {
    const waiting: Array<(link: RawLink) => void> = []
    const unclaimed: RawLink[] = []
    const sockets = new Set<Socket>()
    const server = createServer((socket) => {
      sockets.add(socket)
      const link = tcpLink(socket)
      void link.preamble.then(() => {
        const next = waiting.shift()
        if (next) next(link)
        else unclaimed.push(link)
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
    const close = () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      })
    onCleanup(close)
    return {
      url: `tcp://127.0.0.1:${(server.address() as AddressInfo).port}`,
      accept: () => (unclaimed.length ? Promise.resolve(unclaimed.shift()!) : new Promise((resolve) => waiting.push(resolve))),
      close,
    }
  },
}
