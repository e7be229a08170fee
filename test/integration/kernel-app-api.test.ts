/**
 * Kernel v2 over real sockets: the plugin host (every registration owned; unloading removes
 * exactly one owner's records, and the application's own taps and listeners survive), the
 * application API (`on(event, fn)` with working unsubscribes, the server-wide store, listeners
 * from handler modules), and liveness that follows the server's announced ping schedule.
 */
import { describe, expect, it } from 'vitest'
import { createServer as createCoreServer, defineListener, definePlugin, kernelOf, Stage, type EchoServer, type PluginDefinition, type PluginScope, type Session } from '@echostream/kernel'
import { onCleanup, sleep, track, until } from '../helpers/fixtures.js'
import { codecMsgpack, createProbe, startClient, startServer, transportWs } from '../helpers/wire.js'

declare module '@echostream/kernel' {
  interface AppData {
    greeting: string
  }
}

/** A plugin that taps `connect`, routes a frame kind, exposes an API and decorates sessions; `held.scope` lets the test register late as the plugin. */
function visitor(log: string[], held: { scope?: PluginScope } = {}): PluginDefinition {
  return definePlugin({
    name: 'visitor',
    version: '1.0.0',
    kernel: '^1',
    requires: ['transport', 'codec'],
    setup(kernel, _options, scope) {
      held.scope = scope
      log.push(`setup got the real kernel: ${kernel === (globalThis as { __server?: unknown }).__server}`)
      kernel.hooks.connect.tap('visitor', () => void log.push('visitor connect'))
      kernel.route('visitor.ping', { handler: (frame, session) => void session.send({ kind: 'probe.pong', id: frame.id, payload: 'visited' }) })
      kernel.expose('visitorApi' as never, { hello: () => 'hi' } as never)
      kernel.decorateSession('visit', () => 'visited')
    },
  })
}

describe('plugin host', () => {
  it('an application connect listener (and tap) still fires after a plugin tapping connect is loaded and unloaded; unloading removed exactly its records', async () => {
    const { server } = await startServer()
    ;(globalThis as { __server?: unknown }).__server = server
    onCleanup(() => delete (globalThis as { __server?: unknown }).__server)
    const log: string[] = []
    const off = server.on('connect', (session) => void log.push(`app listener ${session.id !== ''}`))
    server.hooks.connect.tap('app-tap', () => void log.push('app tap'))

    const held: { scope?: PluginScope } = {}
    await server.load(visitor(log, held))
    expect(log).toEqual(['setup got the real kernel: true'])
    // A registration the plugin makes after setup, through its scope, is its own too.
    held.scope!.hooks.disconnect.tap('visitor', () => void log.push('visitor disconnect (late tap)'))
    held.scope!.route('visitor.late', { handler() {} })

    const first = await startClient(server.url!)
    await until(() => log.includes('app listener true'), 2000, 'the first connect')
    expect(log.slice(1)).toEqual(['app tap', 'visitor connect', 'app listener true'])
    expect((server as unknown as { visitorApi?: unknown }).visitorApi).toBeDefined()
    expect((server.sessions()[0] as Session & { visit?: () => string }).visit?.()).toBe('visited')

    await server.unload('visitor')
    expect((server as unknown as { visitorApi?: unknown }).visitorApi).toBeUndefined()
    expect((server.sessions()[0] as Session & { visit?: unknown }).visit).toBeUndefined()
    expect(server.hooks.connect.taps.map((t) => t.name)).toEqual(['probe', 'app-tap', 'app'])
    expect(server.hooks.disconnect.taps.map((t) => t.name)).toEqual(['probe'])

    log.length = 0
    await startClient(server.url!)
    await until(() => log.includes('app listener true'), 2000, 'the second connect')
    expect(log).toEqual(['app tap', 'app listener true'])
    // Its routes are gone (the late one too): the peer gets E_PROTOCOL, and the session stays.
    const errors: string[] = []
    first.client.hooks.protocolError.tap('test', (error) => void errors.push(error.message))
    first.client.session!.send({ kind: 'visitor.late' })
    await until(() => errors.length === 1, 2000, 'the refusal')
    expect(errors[0]).toMatch(/Unknown frame kind 'visitor.late'/)
    expect(log).not.toContain('visitor disconnect (late tap)')

    // The unsubscribe works; the app tap stays.
    off()
    log.length = 0
    await startClient(server.url!)
    await until(() => log.includes('app tap'), 2000, 'the third connect')
    await sleep(50)
    expect(log).toEqual(['app tap'])
  })

  it('a plugin loaded again after unload registers cleanly (its records were all removed)', async () => {
    const { server } = await startServer()
    const log: string[] = []
    await server.load(visitor(log))
    await server.unload('visitor')
    await server.load(visitor(log))
    expect(server.plugins().map((p) => p.name)).toContain('visitor')
  })
})

describe('application API', () => {
  it('on(start | listening | connect | disconnect | stop | error): each fires, async allowed, and each unsubscribe works', async () => {
    const server = kernelOf(await createCoreServer({ plugins: [transportWs, codecMsgpack, createProbe().plugin], options: { 'transport-ws': { host: '127.0.0.1', port: 0 } } }))
    track(server)
    const seen: string[] = []
    const record = (event: string) => async (...args: unknown[]) => {
      await sleep(1)
      seen.push(`${event}${typeof args[0] === 'string' ? ` ${args[0].slice(0, 5)}` : ''}`)
    }
    const offs = {
      start: server.on('start', record('start')),
      listening: server.on('listening', record('listening')),
      connect: server.on('connect', record('connect')),
      disconnect: server.on('disconnect', record('disconnect')),
      stop: server.on('stop', record('stop')),
    }
    const errors: string[] = []
    const offError = server.on('error', (error, context) => void errors.push(`${error.code} from ${context.source}`))
    // A listener that rejects: reported to `error` listeners, never an unhandled rejection.
    server.on('disconnect', async () => {
      throw new Error('listener broke')
    })

    await server.start()
    expect(seen).toEqual(['start'])
    await until(() => seen.includes('listening ws://'), 1000, 'listening')
    const { client } = await startClient(server.url!)
    await until(() => seen.includes('connect'), 1000, 'connect')
    await client.stop()
    await until(() => seen.includes('disconnect') && errors.length === 1, 1000, 'disconnect')
    expect(errors).toEqual(['E_INTERNAL from a disconnect listener'])

    // Unsubscribed listeners stay silent.
    for (const off of Object.values(offs)) off()
    offError()
    seen.length = 0
    const again = await startClient(server.url!)
    await again.client.stop()
    await server.stop()
    await sleep(20)
    expect(seen).toEqual([])
  })

  it('a connect listener that throws refuses the session on the server; listeners may come from handler modules', async () => {
    const refusing = defineListener('connect', (session) => {
      if (session.handshake.plugins && Object.keys(session.handshake.plugins as object).includes('probe')) throw new Error('no probes today')
    })
    const { server } = await startServer()
    server.registerHandlers([refusing])
    const { rejection } = await import('../helpers/wire.js')
    const { createClient } = await import('../helpers/create.js')
    const client = track(await createClient({ url: server.url, plugins: [transportWs, codecMsgpack, createProbe().plugin] }))
    const error = await rejection(client.start())
    expect(error.message).toMatch(/no probes today/)
    expect(server.sessions()).toEqual([])
  })

  it('the server-wide store sits beside session.data, typed by AppData', async () => {
    const { server } = await startServer()
    server.data.set('greeting', 'hello')
    expect(server.data.get('greeting')).toBe('hello')
    expect([...server.data.keys()]).toEqual(['greeting'])
    const facade: EchoServer = server as unknown as EchoServer
    expect(facade.data.has('greeting')).toBe(true)
    expect(facade.data.delete('greeting')).toBe(true)
  })
})

describe('liveness from the server', () => {
  it('a server pinging every 2 s and a client configured for 100 ms + 100 ms stay connected', async () => {
    const { server, probe } = await startServer({ transport: { pingIntervalMs: 2000, pingTimeoutMs: 1000 } })
    const { client, probe: clientProbe } = await startClient(server.url!, { transport: { pingIntervalMs: 100, pingTimeoutMs: 100 } })
    // Its own settings would give up after 200 ms without a ping; the welcome says 2 s + 1 s.
    await sleep(4500)
    expect(clientProbe.disconnects).toEqual([])
    expect(probe.disconnects).toEqual([])
    expect(client.session!.state).toBe('open')
    expect((await clientProbe.ping(client.session!, 'still here')).payload).toBe('still here')
  }, 15_000)
})

void Stage
