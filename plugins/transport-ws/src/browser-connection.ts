/**
 * A kernel `Connection` over the browser's own WebSocket (no ws, no Node APIs). Browsers answer
 * pings themselves and expose no ping events, so liveness here relies on the server's pings.
 */
import { monotonicMicros, type Connection } from '@echostream/kernel'
import { transportErrors } from './errors.js'

const noop = () => {}

export function connectBrowser(url: string, highWaterMark: number): Promise<Connection> {
  const socket = new globalThis.WebSocket(url)
  socket.binaryType = 'arraybuffer'
  return new Promise((resolve, reject) => {
    socket.onerror = () => reject(transportErrors.cannotConnect(url, 'the browser reported an error', false))
    socket.onopen = () => {
      let closed = false
      const connection: Connection = {
        peer: new URL(url).host,
        highWaterMark,
        get bufferedAmount() {
          return socket.bufferedAmount
        },
        whenWritable() {
          if (closed || socket.bufferedAmount < highWaterMark) return Promise.resolve()
          // A browser WebSocket has no drain event (the WHATWG API exposes only bufferedAmount):
          // look again with a backoff, 4 ms doubling to 64 ms, so a stalled link costs ~16 wakeups a second.
          return new Promise<void>((done) => {
            let delay = 4
            const look = () => {
              if (closed || socket.bufferedAmount < highWaterMark) return done()
              setTimeout(look, delay)
              delay = Math.min(delay * 2, 64)
            }
            setTimeout(look, delay)
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
