/**
 * `stop()` closes every socket, runs `stop`/`destroy` taps (then disposers) in reverse plugin
 * order, also after a failed `start`, and leaves nothing open: a child process that starts a server
 * and a client, round-trips and stops both must exit on its own.
 */
import { spawn } from 'node:child_process'
import { connect } from 'node:net'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CloseCodes, definePlugin, Stage, type PluginDefinition } from '@echostream/kernel'
import { createClient, createServer } from '../helpers/create.js'
import { track, until } from '../helpers/fixtures.js'
import { codecMsgpack, createProbe, rawClient, rejection, startClient, startServer, transportWs, WORKSPACE } from '../helpers/wire.js'

/** Plugins that log every lifecycle tap and their dispose into `log`; `failStart` makes one's start tap throw. */
function lifecyclePlugins(log: string[], options: { failStart?: string; failStop?: string } = {}): PluginDefinition[] {
  return ['one', 'two', 'three'].map((name) =>
    definePlugin({
      name,
      version: '1.0.0',
      kernel: '^1',
      setup(kernel) {
        log.push(`setup ${name}`)
        kernel.hooks.init.tapPromise(name, async () => void log.push(`init ${name}`))
        kernel.hooks.start.tapPromise(name, async () => {
          log.push(`start ${name}`)
          if (options.failStart === name) throw new Error(`${name} cannot start`)
        })
        kernel.hooks.stop.tapPromise(name, async () => {
          log.push(`stop ${name}`)
          if (options.failStop === name) throw new Error(`${name} cannot stop`)
        })
        // A callback-style tap too: every tap type runs on the way down.
        kernel.hooks.destroy.tapAsync(name, (done) => {
          log.push(`destroy ${name}`)
          setImmediate(done)
        })
        return () => void log.push(`dispose ${name}`)
      },
    }),
  )
}

const down = (names: string[]) => [...names.map((n) => `stop ${n}`), ...names.map((n) => `destroy ${n}`), ...names.map((n) => `dispose ${n}`)]

/** Whether anything still accepts TCP connections on the port. */
function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

describe('lifecycle', () => {
  it('stop() closes every socket (clients see 1001), runs disconnect, and frees the port', async () => {
    const { server, probe } = await startServer()
    const a = await startClient(server.url!)
    const b = await startClient(server.url!)
    const raw = await rawClient(server.url!)
    await raw.hello()
    const handshaking = await rawClient(server.url!) // connected, never says hello
    await until(() => server.sessions().length === 3, 5000, 'three sessions')
    const port = Number(new URL(server.url!).port)

    await server.stop()
    expect(server.state).toBe('stopped')
    expect(server.sessions()).toEqual([])
    expect(probe.disconnects.map((d) => d.info.code)).toEqual([CloseCodes.goingAway, CloseCodes.goingAway, CloseCodes.goingAway])

    for (const { probe: clientProbe, client } of [a, b]) {
      await until(() => clientProbe.disconnects.length === 1, 5000, 'the client to see the close')
      expect(clientProbe.disconnects[0]!.info).toEqual({ code: CloseCodes.goingAway, reason: 'server stopping' })
      expect(client.session!.state).toBe('closed')
    }
    expect(await raw.closed).toEqual({ code: CloseCodes.goingAway, reason: 'server stopping' })
    expect((await handshaking.closed).code).toBe(CloseCodes.goingAway)
    expect(await portAccepts(port)).toBe(false)

    // stop() twice is harmless; start() after stop() is refused clearly.
    await server.stop()
    const again = await rejection(server.start())
    expect(again.code).toBe('E_STATE')
  })

  it('a client stop() closes its socket; the server sees the session go with 1000 (a deliberate end)', async () => {
    const { server, probe } = await startServer()
    const { client } = await startClient(server.url!)
    const id = client.session!.id
    await client.stop()
    expect(client.state).toBe('stopped')
    await until(() => probe.disconnects.length === 1, 5000, 'the server to see the client go')
    expect(probe.disconnects[0]).toEqual({ id, info: { code: CloseCodes.normal, reason: 'client stopping' } })
    expect(server.sessions()).toEqual([])
  })

  it('runs stop, destroy and dispose in reverse plugin order after a normal run', async () => {
    const log: string[] = []
    const server = track(await createServer({ plugins: [transportWs, codecMsgpack, ...lifecyclePlugins(log)] }))
    await server.start()
    expect(log).toEqual(['setup one', 'setup two', 'setup three', 'init one', 'init two', 'init three', 'start one', 'start two', 'start three'])
    log.length = 0
    await server.stop()
    expect(log).toEqual(down(['three', 'two', 'one']))
  })

  it('runs every stop/destroy tap in reverse order even after a failed start (a start tap throws)', async () => {
    const log: string[] = []
    const server = track(await createServer({ plugins: [transportWs, codecMsgpack, ...lifecyclePlugins(log, { failStart: 'two' })] }))
    // The start tap's own error reaches the caller.
    const error = await server.start().then(() => undefined, (e: unknown) => e as Error)
    expect(error).toBeInstanceOf(Error)
    expect(error!.message).toBe('two cannot start')
    expect(log.slice(0, 8)).toEqual(['setup one', 'setup two', 'setup three', 'init one', 'init two', 'init three', 'start one', 'start two'])
    expect(log).not.toContain('start three')
    expect(log.slice(8)).toEqual(down(['three', 'two', 'one']))
    expect(server.state).toBe('stopped')
    expect(server.url).toBeUndefined() // it never listened
  })

  it('runs every stop/destroy tap after a failed client start (nothing to connect to), and each even if one throws', async () => {
    const log: string[] = []
    const client = track(await createClient({ url: 'ws://127.0.0.1:1', plugins: [transportWs, codecMsgpack, ...lifecyclePlugins(log, { failStop: 'two' })] }))
    const error = await rejection(client.start())
    expect(error.code).toBe('E_CLOSED')
    expect(log.slice(9)).toEqual(down(['three', 'two', 'one']))
    expect(client.state).toBe('stopped')
  })

  it('orders taps by stage, not by plugin order, where a plugin asks for it', async () => {
    const seen: string[] = []
    const tapAt = (name: string, stage: number) =>
      definePlugin({
        name,
        version: '1.0.0',
        kernel: '^1',
        setup(kernel) {
          kernel.hooks.inbound.tap({ name, stage }, (frame) => {
            if (frame?.kind === 'probe.ping') seen.push(name)
            return frame
          })
        },
      })
    const probe = createProbe()
    const { server } = await startServer({ plugins: [tapAt('late', Stage.LATE), tapAt('first', Stage.FIRST), tapAt('normal', Stage.NORMAL)] }, probe)
    const { client, probe: clientProbe } = await startClient(server.url!)
    await clientProbe.ping(client.session!)
    expect(seen).toEqual(['first', 'normal', 'late'])
    // Unloading one rebuilds the hook without it, keeping the others' stages.
    await server.unload('normal')
    seen.length = 0
    await clientProbe.ping(client.session!)
    expect(seen).toEqual(['first', 'late'])
  })

  it.each([
    { name: 'server stopped first', args: [] as string[] },
    { name: 'client stopped first', args: ['--stop-client-first'] },
  ])('leaves no open handles: a child process that starts, round-trips and stops exits on its own ($name)', async ({ args }) => {
    const script = join(WORKSPACE, 'test/helpers/lifecycle-child.ts')
    const env = { ...process.env }
    delete env.VITEST // the child is a plain Node process
    delete env.VITEST_WORKER_ID
    delete env.VITEST_POOL_ID
    delete env.NODE_OPTIONS
    const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', script, ...args], { cwd: WORKSPACE, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk))
    let stoppedAt = 0
    child.stdout.on('data', () => {
      if (!stoppedAt && stdout.includes('stopped')) stoppedAt = Date.now()
    })
    const killer = setTimeout(() => child.kill('SIGKILL'), 25_000)
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
    clearTimeout(killer)
    const exitedAt = Date.now()

    expect(stderr).toBe('')
    expect(stdout).toContain('round-trip 010203')
    expect(stdout).toContain('stopped stopped stopped')
    expect(exit).toEqual({ code: 0, signal: null })
    // "On its own": within a few seconds of the last stop (a leaked handle would hold it until killed).
    expect(exitedAt - stoppedAt).toBeLessThan(5000)
  })
})
