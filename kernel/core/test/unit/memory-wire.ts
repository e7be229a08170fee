/**
 * An in-memory transport and a JSON codec, for fast kernel unit tests only (STYLE rule 13: never
 * the proof that something works over the network; the integration tests use real sockets).
 */
import { definePlugin, type PluginDefinition } from '../../src/plugin.js'
import { EchoError, ErrorCodes } from '../../src/errors.js'
import type { Codec, Connection, Transport } from '../../src/transport.js'
import type { Frame } from '../../src/frame.js'
import { monotonicMicros } from '../../src/clock.js'

class MemoryConnection implements Connection {
  onMessage: (bytes: Uint8Array, arrivedAt: number) => void = () => {}
  onClose: (code: number, reason: string) => void = () => {}
  other!: MemoryConnection
  closed = false
  readonly bufferedAmount = 0
  readonly highWaterMark = 1 << 20
  constructor(readonly peer: string) {}
  whenWritable(): Promise<void> {
    return Promise.resolve()
  }
  send(bytes: Uint8Array): void {
    if (this.closed) return
    const copy = new Uint8Array(bytes)
    queueMicrotask(() => this.other.closed || this.other.onMessage(copy, monotonicMicros()))
  }
  close(code: number, reason: string): void {
    if (this.closed) return
    this.closed = true
    queueMicrotask(() => {
      this.onClose(code, reason)
      if (!this.other.closed) {
        this.other.closed = true
        this.other.onClose(code, reason)
      }
    })
  }
}

/** One in-memory "network": a server transport and a client transport that reach it. */
export function memoryNetwork(): { server: PluginDefinition; client: PluginDefinition; connections: MemoryConnection[] } {
  let accept: ((connection: Connection) => void) | undefined
  const connections: MemoryConnection[] = []
  const transport: Transport = {
    name: 'memory',
    async listen(onConnection) {
      accept = onConnection
      return 'memory://server'
    },
    async close() {
      accept = undefined
      for (const c of connections) c.close(1001, 'server stopping')
    },
    limits: () => ({ maxPayload: 1 << 20, pingIntervalMs: 0, pingTimeoutMs: 0 }),
    async connect() {
      if (!accept) throw new EchoError(ErrorCodes.E_CLOSED, 'nothing listens on memory://server', { retryable: true })
      const near = new MemoryConnection('memory:client')
      const far = new MemoryConnection('memory:server')
      near.other = far
      far.other = near
      connections.push(near, far)
      accept(far)
      return near
    },
  }
  const plugin = (role: string) =>
    definePlugin({ name: 'transport-memory', version: '1.0.0', kernel: '^1', provides: ['transport'], setup: (kernel) => kernel.provide('transport', transport), roles: [role as 'server'] })
  return { server: plugin('server'), client: plugin('client'), connections }
}

export const jsonCodec: Codec = {
  name: 'json',
  encode: (frame: Frame) => new TextEncoder().encode(JSON.stringify(frame)),
  decode(bytes) {
    try {
      const value = JSON.parse(new TextDecoder().decode(bytes)) as Frame
      if (typeof value?.kind !== 'string') return { ok: false, error: new EchoError(ErrorCodes.E_PROTOCOL, 'not a frame') }
      return { ok: true, frame: value }
    } catch (error) {
      return { ok: false, error: new EchoError(ErrorCodes.E_CODEC, 'not JSON', { cause: error }) }
    }
  },
}

export const jsonCodecPlugin = definePlugin({ name: 'codec-json', version: '1.0.0', kernel: '^1', provides: ['codec'], setup: (kernel) => kernel.provide('codec', jsonCodec) })
