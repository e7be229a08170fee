/**
 * A kernel `Connection` over the browser's own WebSocket (no ws, no Node APIs). Browsers answer
 * pings themselves and expose no ping events, so liveness here relies on the server's pings.
 */
import { EchoError, ErrorCodes, monotonicMicros, type Connection } from '@echostream/kernel'

const noop = () => {}

export function connectBrowser(url: string, highWaterMark: number): Promise<Connection> {
  const socket = new globalThis.WebSocket(url)
  socket.binaryType = 'arraybuffer'
  return new Promise((resolve, reject) => {
    socket.onerror = () => reject(new EchoError(ErrorCodes.E_CLOSED, `Cannot connect to ${url}: is the server running and the URL right?`, { retryable: true }))
    socket.onopen = () => {
      let closed = false
      const connection: Connection = {
        peer: new URL(url).host,
        highWaterMark,
        get bufferedAmount() {
          return socket.bufferedAmount
        },
        whenWritable() {
          return new Promise<void>((done) => {
            const poll = () => (closed || socket.bufferedAmount < highWaterMark ? done() : setTimeout(poll, 5))
            poll()
          })
        },
        send(bytes) {
          if (!closed && socket.readyState === 1) socket.send(bytes)
        },
        close(code, reason) {
          socket.close(code, reason)
        },
        onMessage: noop,
        onClose: noop,
      }
      socket.onerror = null
      socket.onmessage = (event: MessageEvent) => connection.onMessage(new Uint8Array(event.data as ArrayBuffer), monotonicMicros())
      socket.onclose = (event: CloseEvent) => {
        closed = true
        connection.onClose(event.code, event.reason)
      }
      resolve(connection)
    }
  })
}
