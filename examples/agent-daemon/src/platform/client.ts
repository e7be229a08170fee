/**
 * A connection to the fake platform, for a user (tests, the terminal chat) or the bot (the
 * connector). Lines arrive as parsed objects through `on(listener)`; `hello()` resolves with the
 * welcome or rejects with the platform's error.
 */
import { connect, type Socket } from 'node:net'
import { encode, LineSplitter, parseLine, parseTcpUrl, type Json } from './protocol.js'

export type Incoming = Json & { type: string }

export class PlatformConnection {
  private readonly listeners = new Set<(message: Incoming) => void>()
  private readonly closeListeners = new Set<() => void>()
  private pings = new Map<number, () => void>()
  private nextRef = 0
  readonly socket: Socket

  private constructor(socket: Socket) {
    this.socket = socket
    socket.setEncoding('utf8')
    socket.setNoDelay(true)
    const lines = new LineSplitter((line) => {
      if (line === undefined) return void socket.destroy()
      const parsed = parseLine(line)
      if (!parsed.ok) return
      const message = parsed.value
      if (message.type === 'pong' && typeof message.ref === 'number') {
        this.pings.get(message.ref)?.()
        this.pings.delete(message.ref)
        return
      }
      for (const listener of this.listeners) listener(message)
    })
    socket.on('data', (chunk: string) => lines.push(chunk))
    socket.on('error', () => {})
    socket.on('close', () => {
      for (const listener of this.closeListeners) listener()
    })
  }

  static open(url: string, timeoutMs = 5000): Promise<PlatformConnection> {
    const { host, port } = parseTcpUrl(url)
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port })
      const timer = setTimeout(() => {
        socket.destroy()
        reject(new Error(`no connection to ${url} within ${timeoutMs} ms`))
      }, timeoutMs)
      socket.once('connect', () => {
        clearTimeout(timer)
        resolve(new PlatformConnection(socket))
      })
      socket.once('error', (error) => {
        clearTimeout(timer)
        reject(error)
      })
    })
  }

  get open(): boolean {
    return !this.socket.destroyed
  }

  on(listener: (message: Incoming) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  onClose(listener: () => void): () => void {
    this.closeListeners.add(listener)
    return () => this.closeListeners.delete(listener)
  }

  /** Writes one line; false when the socket's buffer is full (wait for `drained()` before more). */
  send(message: Json): boolean {
    if (this.socket.destroyed) return true
    return this.socket.write(encode(message))
  }

  /** Resolves when the socket can take more (or closed). */
  drained(): Promise<void> {
    if (this.socket.destroyed || !this.socket.writableNeedDrain) return Promise.resolve()
    return new Promise((resolve) => {
      const done = () => {
        this.socket.off('drain', done)
        this.socket.off('close', done)
        resolve()
      }
      this.socket.on('drain', done)
      this.socket.on('close', done)
    })
  }

  /** Sends hello and waits for welcome (or the platform's error). */
  hello(fields: Json, timeoutMs = 5000): Promise<Incoming> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`no welcome within ${timeoutMs} ms`)), timeoutMs)
      const off = this.on((message) => {
        if (message.type === 'welcome') done(undefined, message)
        else if (message.type === 'error') done(new Error(`${message.code}: ${message.message}`))
      })
      const offClose = this.onClose(() => done(new Error('the platform closed the connection')))
      const done = (error?: Error, welcome?: Incoming) => {
        clearTimeout(timer)
        off()
        offClose()
        if (error) reject(error)
        else resolve(welcome!)
      }
      this.send({ type: 'hello', ...fields })
    })
  }

  /** One round trip to the platform, in ms. */
  ping(timeoutMs = 5000): Promise<number> {
    const ref = ++this.nextRef
    const started = performance.now()
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pings.delete(ref)
        reject(new Error(`no pong within ${timeoutMs} ms`))
      }, timeoutMs)
      this.pings.set(ref, () => {
        clearTimeout(timer)
        resolve(performance.now() - started)
      })
      this.send({ type: 'ping', ref })
    })
  }

  close(): void {
    this.socket.end()
    this.socket.destroySoon()
  }
}
