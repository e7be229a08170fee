/**
 * The kernel's plugin bookkeeping with an in-memory transport and a JSON codec: setup order,
 * runtime load/unload (hooks rebuilt from the remaining taps, registrations removed), refusals.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createKernel, type EchoKernel } from '../../src/kernel.js'
import { definePlugin, type PluginDefinition } from '../../src/plugin.js'
import { EchoError } from '../../src/errors.js'
import { Stage } from '../../src/hooks.js'
import type { Frame } from '../../src/frame.js'
import type { Session } from '../../src/session.js'
import { jsonCodecPlugin, memoryNetwork } from './memory-wire.js'

const kernels: EchoKernel[] = []
afterEach(async () => {
  for (const k of kernels.splice(0).reverse()) await k.stop().catch(() => {})
})

async function make(role: 'server' | 'client', plugins: PluginDefinition[], url?: string): Promise<EchoKernel> {
  const kernel = await createKernel({ role, url, plugins })
  kernels.push(kernel)
  return kernel
}

async function rejection(promise: Promise<unknown>): Promise<EchoError> {
  try {
    await promise
  } catch (error) {
    expect(EchoError.is(error)).toBe(true)
    return error as EchoError
  }
  throw new Error('expected a rejection')
}

/** A plugin that logs its setup and marks `tag.*` frames with its name in inbound/outbound. */
function tagger(name: string, log: string[], extra: Partial<PluginDefinition> = {}): PluginDefinition {
  return definePlugin({
    name,
    version: '1.0.0',
    kernel: '^1',
    ...extra,
    setup(kernel) {
      log.push(`setup ${name}`)
      const mark = (direction: string) => (frame: Frame | null) => {
        if (frame?.kind.startsWith('tag.')) log.push(`${direction} ${name}`)
        return frame
      }
      kernel.hooks.inbound.tap(name, mark('in'))
      kernel.hooks.outbound.tap(name, mark('out'))
    },
  })
}

/** A server + client pair on the memory network; the server echoes `tag.ping` as `tag.pong`. */
async function pair(serverExtra: PluginDefinition[] = []) {
  const net = memoryNetwork()
  const received: Frame[] = []
  const echo = definePlugin({
    name: 'echo',
    version: '1.0.0',
    kernel: '^1',
    requires: ['transport', 'codec'],
    setup(kernel) {
      kernel.route('tag.ping', { handler: (frame, session) => session.send({ kind: 'tag.pong', id: frame.id }) })
      kernel.route('tag.pong', { handler: (frame) => void received.push(frame) })
    },
  })
  const server = await make('server', [net.server, jsonCodecPlugin, echo, ...serverExtra])
  await server.start()
  const client = await make('client', [net.client, jsonCodecPlugin, echo], server.url)
  await client.start()
  const roundTrip = async () => {
    const before = received.length
    client.session!.send({ kind: 'tag.ping', id: before + 1 })
    for (let i = 0; i < 100 && received.length === before; i++) await new Promise((r) => setTimeout(r, 1))
    expect(received.length).toBe(before + 1)
  }
  return { server, client, roundTrip }
}

describe('kernel plugins', () => {
  it('sets plugins up in capability order and lists them with their validated, frozen options', async () => {
    const log: string[] = []
    const needsX = tagger('user', log, { requires: ['x'] })
    const providesX = tagger('provider', log, {
      provides: ['x'],
      schema: { type: 'object', additionalProperties: false, properties: { level: { type: 'integer', default: 3 } } },
    })
    const kernel = await make('server', [needsX, providesX])
    expect(log).toEqual(['setup provider', 'setup user'])
    expect(kernel.plugins().map((p) => p.name)).toEqual(['provider', 'user'])
    const options = kernel.plugins()[0]!.options as { level: number }
    expect(options).toEqual({ level: 3 })
    expect(Object.isFrozen(options)).toBe(true)
  })

  it('unload rebuilds the pipeline from the remaining taps, keeping their order', async () => {
    const log: string[] = []
    const { server, roundTrip } = await pair([tagger('a', log), tagger('b', log), tagger('c', log)])
    await roundTrip()
    expect(log.filter((l) => !l.startsWith('setup'))).toEqual(['in a', 'in b', 'in c', 'out a', 'out b', 'out c'])
    log.length = 0
    await server.unload('b')
    await roundTrip()
    expect(log).toEqual(['in a', 'in c', 'out a', 'out c'])
    log.length = 0
    await server.unload('a')
    await server.unload('c')
    await roundTrip()
    expect(log).toEqual([])
  })

  it('a plugin loaded at runtime taps in by stage among the existing taps', async () => {
    const log: string[] = []
    const { server, roundTrip } = await pair([tagger('a', log), tagger('b', log)])
    const early = definePlugin({
      name: 'early',
      version: '1.0.0',
      kernel: '^1',
      setup(kernel) {
        kernel.hooks.inbound.tap({ name: 'early', stage: Stage.EARLY }, (frame) => {
          if (frame?.kind.startsWith('tag.')) log.push('in early')
          return frame
        })
      },
    })
    await server.load(early)
    log.length = 0
    await roundTrip()
    expect(log).toEqual(['in early', 'in a', 'in b', 'out a', 'out b'])
  })

  it('unload removes what the plugin exposed, routed and decorated, and runs its disposer', async () => {
    const events: string[] = []
    const extra = definePlugin({
      name: 'extra',
      version: '1.0.0',
      kernel: '^1',
      setup(kernel) {
        kernel.expose('extraApi' as never, { hello: () => 'hi' } as never)
        kernel.route('extra.cmd', { handler() {} })
        kernel.decorateSession('extraMethod', () => 'decorated')
        kernel.onDispose(() => void events.push('onDispose'))
        return () => void events.push('returned dispose')
      },
    })
    const { server, client } = await pair([extra])
    const session = server.sessions()[0] as Session & { extraMethod?: () => string }
    expect((server as unknown as { extraApi?: unknown }).extraApi).toBeDefined()
    expect(session.extraMethod?.()).toBe('decorated')
    await server.unload('extra')
    expect(events.sort()).toEqual(['onDispose', 'returned dispose'])
    expect((server as unknown as { extraApi?: unknown }).extraApi).toBeUndefined()
    expect(session.extraMethod).toBeUndefined()
    expect(server.plugins().map((p) => p.name)).not.toContain('extra')
    // Its frame kind is unknown again: the peer gets a protocol error, the session stays.
    const errors: EchoError[] = []
    client.hooks.protocolError.tap('test', (error) => void errors.push(error))
    client.session!.send({ kind: 'extra.cmd' })
    for (let i = 0; i < 100 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 1))
    expect(errors[0]?.code).toBe('E_PROTOCOL')
    expect(errors[0]?.message).toMatch(/Unknown frame kind 'extra.cmd'/)
    // And the same name can be loaded again.
    await server.load(extra)
    expect(server.plugins().map((p) => p.name)).toContain('extra')
  })

  it('refuses to unload a plugin that others require, and an unknown name', async () => {
    const { server } = await pair()
    const blocked = await rejection(server.unload('codec-json'))
    expect(blocked.code).toBe('E_PLUGIN')
    expect(blocked.message).toMatch(/echo require its capability 'codec'; unload them first/)
    expect(server.plugins().map((p) => p.name)).toContain('codec-json')
    const unknown = await rejection(server.unload('nope'))
    expect(unknown.message).toMatch(/no plugin of that name is loaded \(loaded: transport-memory, codec-json, echo\)/)
  })

  it('a plugin whose setup fails at runtime load leaves nothing behind', async () => {
    const log: string[] = []
    const { server, roundTrip } = await pair()
    const halfway = definePlugin({
      name: 'halfway',
      version: '1.0.0',
      kernel: '^1',
      setup(kernel) {
        kernel.hooks.inbound.tap('halfway', (frame) => {
          log.push('halfway tap ran')
          return frame
        })
        kernel.expose('halfwayApi' as never, {} as never)
        kernel.hooks.stop.tap('halfway', () => void log.push('halfway stop'))
        kernel.onDispose(() => void log.push('halfway disposed'))
        throw new Error('cannot reach the database')
      },
    })
    const error = await rejection(server.load(halfway))
    expect(error.code).toBe('E_PLUGIN')
    expect(error.message).toMatch(/'halfway' failed in setup: cannot reach the database/)
    expect(server.plugins().map((p) => p.name)).toEqual(['transport-memory', 'codec-json', 'echo'])
    expect((server as unknown as { halfwayApi?: unknown }).halfwayApi).toBeUndefined()
    expect(log).toEqual(['halfway stop', 'halfway disposed'])
    await roundTrip()
    expect(log).not.toContain('halfway tap ran')
  })

  it('a plugin whose start tap fails at runtime load is taken out again', async () => {
    const { server, roundTrip } = await pair()
    const ran: string[] = []
    const failing = definePlugin({
      name: 'failing-start',
      version: '1.0.0',
      kernel: '^1',
      setup(kernel) {
        kernel.hooks.outbound.tap('failing-start', (frame) => {
          ran.push('outbound')
          return frame
        })
        kernel.hooks.start.tapPromise('failing-start', async () => {
          throw new Error('port taken')
        })
      },
    })
    await expect(server.load(failing)).rejects.toThrow('port taken')
    expect(server.plugins().map((p) => p.name)).not.toContain('failing-start')
    await roundTrip()
    expect(ran).toEqual([])
  })

  it('unload runs the plugin’s own stop and destroy taps (reverse of its tap order), then its disposer', async () => {
    const log: string[] = []
    const { server } = await pair([
      definePlugin({
        name: 'resourceful',
        version: '1.0.0',
        kernel: '^1',
        setup(kernel) {
          kernel.hooks.stop.tap('resourceful', () => void log.push('stop 1'))
          kernel.hooks.stop.tapPromise('resourceful', async () => void log.push('stop 2'))
          kernel.hooks.destroy.tap('resourceful', () => void log.push('destroy'))
          return () => void log.push('dispose')
        },
      }),
    ])
    await server.unload('resourceful')
    expect(log).toEqual(['stop 2', 'stop 1', 'destroy', 'dispose'])
    await server.stop()
    expect(log).toEqual(['stop 2', 'stop 1', 'destroy', 'dispose']) // nothing of it runs again
  })

  it('exposing a name the kernel already has is refused', async () => {
    const clash = definePlugin({ name: 'clash', version: '1.0.0', kernel: '^1', setup: (kernel) => kernel.expose('hooks' as never, {} as never) })
    const error = await rejection(make('server', [clash]))
    expect(error.code).toBe('E_PLUGIN')
    expect(error.message).toMatch(/'clash' exposes 'hooks'/)
  })

  it('a second plugin routing the same frame kind is refused, naming it', async () => {
    const route = (name: string) => definePlugin({ name, version: '1.0.0', kernel: '^1', setup: (kernel) => kernel.route('shared.kind', { handler() {} }) })
    const error = await rejection(make('server', [route('first'), route('second')]))
    expect(error.message).toMatch(/'second' routes frame kind 'shared.kind', which is already taken/)
  })

  it('start() without a transport or codec is refused with what to add', async () => {
    const kernel = await make('server', [jsonCodecPlugin])
    const error = await rejection(kernel.start())
    expect(error.code).toBe('E_PLUGIN')
    expect(error.message).toMatch(/no transport is loaded.*@echostream\/plugin-transport-ws/)
  })
})
