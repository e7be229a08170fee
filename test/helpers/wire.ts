/**
 * Helpers for tests over real sockets: a probe plugin that round-trips frames and records session
 * events, a raw `ws` client that speaks bytes (to send what an echostream client never would), and
 * temp app folders whose node_modules link to the workspace packages.
 */
import { mkdirSync, symlinkSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { WebSocket } from 'ws'
import { pack, unpack } from 'msgpackr'
import { definePlugin, EchoError, type CloseInfo, type EchoKernel, type EchoConfig, type Frame, type PluginDefinition, type Session } from '@echostream/kernel'
import { createClient, createServer } from './create.js'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import { onCleanup, track, until } from './fixtures.js'

export const WORKSPACE = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

export { transportWs, codecMsgpack }

/** Links `@echostream/kernel`, `@echostream/node` and the two wire plugins into `<dir>/node_modules`, as an app that installed them. */
export function linkWorkspace(dir: string): void {
  const scope = join(dir, 'node_modules', '@echostream')
  mkdirSync(scope, { recursive: true })
  symlinkSync(join(WORKSPACE, 'kernel/core'), join(scope, 'kernel'), 'dir')
  symlinkSync(join(WORKSPACE, 'kernel/node'), join(scope, 'node'), 'dir')
  symlinkSync(join(WORKSPACE, 'plugins/transport-ws'), join(scope, 'plugin-transport-ws'), 'dir')
  symlinkSync(join(WORKSPACE, 'plugins/codec-msgpack'), join(scope, 'plugin-codec-msgpack'), 'dir')
}

// ---------------------------------------------------------------- probe plugin

export interface Probe {
  plugin: PluginDefinition
  /** Frames that reached the `probe.ping` route (after the inbound pipeline). */
  pings: Frame[]
  connects: string[]
  disconnects: Array<{ id: string; info: CloseInfo }>
  protocolErrors: EchoError[]
  /** Sends `probe.ping` with `payload` and resolves with the matching `probe.pong` frame. */
  ping(session: Session, payload?: unknown, timeoutMs?: number): Promise<Frame>
}

/**
 * A plugin that answers `<name>.ping` with `<name>.pong` (same id and payload) and records
 * connects, disconnects and protocol errors. Make one per kernel; `name` defaults to `probe`.
 */
export function createProbe(options: { name?: string; wire?: number | null } = {}): Probe {
  const name = options.name ?? 'probe'
  const PING = `${name}.ping`
  const PONG = `${name}.pong`
  let nextId = 1
  const waiting = new Map<number, (frame: Frame) => void>()
  const probe: Probe = {
    pings: [],
    connects: [],
    disconnects: [],
    protocolErrors: [],
    plugin: definePlugin({
      name,
      version: '1.0.0',
      kernel: '^1',
      requires: ['transport', 'codec'],
      ...(options.wire === null ? {} : { wire: options.wire ?? 1 }),
      setup(kernel) {
        kernel.route(PING, {
          handler(frame, session) {
            probe.pings.push(frame)
            session.send({ kind: PONG, id: frame.id, payload: frame.payload })
          },
        })
        kernel.route(PONG, {
          handler(frame) {
            if (frame.id === undefined) return
            waiting.get(frame.id)?.(frame)
            waiting.delete(frame.id)
          },
        })
        kernel.hooks.connect.tapPromise(name, async (session) => {
          probe.connects.push(session.id)
        })
        kernel.hooks.disconnect.tap(name, (session, info) => {
          probe.disconnects.push({ id: session.id, info })
        })
        kernel.hooks.protocolError.tap(name, (error) => {
          probe.protocolErrors.push(error)
        })
      },
    }),
    ping(session, payload = 'ping', timeoutMs = 5000) {
      const id = nextId++
      return new Promise<Frame>((resolvePong, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id)
          reject(new Error(`no ${PONG} for id ${id} within ${timeoutMs} ms`))
        }, timeoutMs)
        waiting.set(id, (frame) => {
          clearTimeout(timer)
          resolvePong(frame)
        })
        session.send({ kind: PING, id, payload })
      })
    },
  }
  return probe
}

/** A started server with transport-ws (on 127.0.0.1:0), codec-msgpack and a probe. Stopped in teardown. */
export async function startServer(
  config: { transport?: Record<string, unknown>; plugins?: EchoConfig['plugins']; handshakeTimeoutMs?: number } = {},
  probe = createProbe(),
): Promise<{ server: EchoKernel; probe: Probe }> {
  const server = track(
    await createServer({
      plugins: [transportWs, codecMsgpack, probe.plugin, ...(config.plugins ?? [])],
      options: { 'transport-ws': { host: '127.0.0.1', port: 0, ...config.transport } },
      ...(config.handshakeTimeoutMs ? { handshakeTimeoutMs: config.handshakeTimeoutMs } : {}),
    }),
  )
  await server.start()
  return { server, probe }
}

/** A started client of `url` with transport-ws, codec-msgpack and a probe. Stopped in teardown. */
export async function startClient(
  url: string,
  config: { transport?: Record<string, unknown>; plugins?: EchoConfig['plugins'] } = {},
  probe = createProbe(),
): Promise<{ client: EchoKernel; probe: Probe }> {
  const client = track(
    await createClient({
      url,
      plugins: [transportWs, codecMsgpack, probe.plugin, ...(config.plugins ?? [])],
      ...(config.transport ? { options: { 'transport-ws': config.transport } } : {}),
    }),
  )
  await client.start()
  return { client, probe }
}

// ---------------------------------------------------------------- raw ws client

/** A decoded frame as it travels: `[kind, id, name, payload, meta]`. */
export type WireFrame = [string, number | null, string | null, unknown?, Record<string, unknown>?]

export interface RawClient {
  ws: WebSocket
  /** Every message received, decoded from MessagePack (or the raw bytes when it was not). */
  messages: unknown[]
  /** Set once the socket closed. */
  closeInfo: { code: number; reason: string } | undefined
  closed: Promise<{ code: number; reason: string }>
  send(data: Uint8Array | unknown[]): void
  /** Sends a valid `hello` and resolves with the server's answer frame. */
  hello(payload?: Record<string, unknown>): Promise<WireFrame>
  /** Resolves with the first received frame of `kind` after index `from` (default: any). */
  frame(kind: string, from?: number, timeoutMs?: number): Promise<WireFrame>
}

export const HELLO = Object.freeze({ protocol: 2, codec: 'msgpack', plugins: {}, limits: { maxPayload: 1048576 } })

/** Opens a raw `ws` connection (terminated in teardown). */
export async function rawClient(url: string): Promise<RawClient> {
  const ws = new WebSocket(url, { perMessageDeflate: false })
  const client: RawClient = {
    ws,
    messages: [],
    closeInfo: undefined,
    closed: new Promise((resolveClosed) => {
      ws.on('close', (code, reason) => {
        client.closeInfo = { code, reason: reason.toString() }
        resolveClosed(client.closeInfo)
      })
    }),
    send(data) {
      ws.send(Array.isArray(data) ? pack(data) : data, { binary: true })
    },
    async hello(payload = HELLO) {
      const from = client.messages.length
      client.send(['hello', null, null, payload])
      await until(() => client.messages.length > from || client.closeInfo !== undefined, 5000, 'an answer to hello')
      const answer = client.messages[from]
      if (!Array.isArray(answer)) throw new Error(`no frame answered hello (closed: ${JSON.stringify(client.closeInfo)})`)
      return answer as WireFrame
    },
    async frame(kind, from = 0, timeoutMs = 5000) {
      const find = () => client.messages.slice(from).find((m): m is WireFrame => Array.isArray(m) && m[0] === kind)
      await until(() => find() !== undefined, timeoutMs, `a '${kind}' frame`)
      return find()!
    },
  }
  ws.on('message', (data: Buffer) => {
    try {
      client.messages.push(unpack(data))
    } catch {
      client.messages.push(data)
    }
  })
  ws.on('error', () => {})
  onCleanup(() => ws.terminate())
  await new Promise<void>((resolveOpen, reject) => {
    ws.once('open', () => resolveOpen())
    ws.once('error', reject)
  })
  return client
}

/** Awaits a promise that must reject, and returns its EchoError. */
export async function rejection(promise: Promise<unknown>): Promise<EchoError> {
  let outcome: unknown
  try {
    await promise
  } catch (error) {
    outcome = error
  }
  if (outcome === undefined) throw new Error('expected a rejection, but the promise resolved')
  if (!EchoError.is(outcome)) throw new Error(`expected an EchoError, got ${String(outcome)}`, { cause: outcome })
  return outcome
}
