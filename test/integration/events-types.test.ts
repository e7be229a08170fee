/**
 * Typed events: augmenting `ServerEvents`/`ClientEvents` makes `on`/`emit` infer the data, and
 * undeclared names still work with `any` data. The `expectTypeOf` and `@ts-expect-error` lines are
 * checked by `tsc` (plugins/events/test/tsconfig.json includes this file); at runtime the same calls
 * run against a real server and client.
 */
import { describe, expect, expectTypeOf, it } from 'vitest'
import { type EchoKernel, type Session } from '@echostream/kernel'
import { createClient, createServer } from '../helpers/create.js'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import events, { type BroadcastReport, type Unsubscribe } from '@echostream/plugin-events'
import { track, until } from '../helpers/fixtures.js'

// Names are prefixed `typed.` so these augmentations never collide with other tests' plain names.
declare module '@echostream/plugin-events' {
  interface ServerEvents {
    'typed.tick': { n: number }
    'typed.both': number
    'typed.maybe': string | undefined
  }
  interface ClientEvents {
    'typed.say': string
    'typed.both': string
  }
}

const plugins = [transportWs, codecMsgpack, events]

/** Never called: only for the compiler. */
function compileOnly(k: EchoKernel, s: Session): void {
  // on: data inferred from the maps; a name in both maps gets the union
  k.events.on('typed.tick', (data, session) => {
    expectTypeOf(data).toEqualTypeOf<{ n: number }>()
    expectTypeOf(session).toEqualTypeOf<Session>()
  })
  k.events.on('typed.say', (data) => expectTypeOf(data).toEqualTypeOf<string>())
  k.events.on('typed.both', (data) => expectTypeOf(data).toEqualTypeOf<number | string>())
  k.events.once('typed.tick', (data) => expectTypeOf(data).toEqualTypeOf<{ n: number }>())
  // @ts-expect-error the handler of a typed event must accept its data
  k.events.on('typed.tick', (data: string) => void data)

  // plain strings still work, with any data; an annotated handler is accepted
  k.events.on('anything', (data) => expectTypeOf(data).toBeAny())
  k.events.on('anything', (data: { custom: boolean }) => void data)
  const dynamic: string = 'runtime-name'
  k.events.emit(dynamic, 1)
  k.events.emit('anything')
  s.emit('anything', { whatever: true })

  // emit (client → server) is typed by ClientEvents
  k.events.emit('typed.say', 'hi')
  // @ts-expect-error wrong data type
  k.events.emit('typed.say', 42)
  // @ts-expect-error data is required when its type does not admit undefined
  k.events.emit('typed.say')

  // server → client sends are typed by ServerEvents
  k.events.broadcast('typed.tick', { n: 1 }, { except: s })
  // @ts-expect-error wrong data type
  k.events.broadcast('typed.tick', { n: 'one' })
  k.events.to('room').emit('typed.tick', { n: 1 })
  k.events.to(['a', 'b']).emit('typed.maybe') // data may be left out: its type admits undefined
  // @ts-expect-error wrong data type
  k.events.to('room').emit('typed.both', 'not a number')
  s.emit('typed.tick', { n: 2 })
  // @ts-expect-error wrong data type
  s.emit('typed.tick', { m: 2 })

  // return types
  expectTypeOf(k.events.on('x', () => {})).toEqualTypeOf<Unsubscribe>()
  expectTypeOf(k.events.off('x')).toEqualTypeOf<number>()
  expectTypeOf(k.events.broadcast('x', 1)).toEqualTypeOf<BroadcastReport>()
  expectTypeOf(k.events.volatile.broadcast('typed.tick', { n: 1 }, { except: s })).toEqualTypeOf<BroadcastReport>()
  expectTypeOf(k.events.to('r').emit('x', 1, { volatile: true })).toEqualTypeOf<BroadcastReport>()
  expectTypeOf(k.events.emit('typed.say', 'hi', { volatile: true })).toEqualTypeOf<boolean>()
  expectTypeOf(k.events.volatile.emit('typed.say', 'hi')).toEqualTypeOf<boolean>()
  expectTypeOf(s.emit('typed.tick', { n: 2 }, { volatile: true })).toEqualTypeOf<boolean>()
  // @ts-expect-error wrong data type, volatile too
  k.events.volatile.broadcast('typed.tick', { n: 'one' })
  expectTypeOf(k.events.rooms()).toEqualTypeOf<string[]>()
  expectTypeOf(k.events.in('r')).toEqualTypeOf<Session[]>()
  expectTypeOf(s.rooms()).toEqualTypeOf<string[]>()
  expectTypeOf(s.join).toEqualTypeOf<(room: string) => void>()
}

describe('events: typed event maps', () => {
  it('typed events travel both ways', async () => {
    expect(typeof compileOnly).toBe('function')
    const server = track(await createServer({ plugins }))
    await server.start()
    const client = track(await createClient({ url: server.url, plugins }))
    await client.start()

    const said: string[] = []
    server.events.on('typed.say', (text, session) => {
      said.push(text.toUpperCase())
      session.emit('typed.tick', { n: text.length })
    })
    const ticks: number[] = []
    client.events.on('typed.tick', ({ n }) => void ticks.push(n))

    client.events.emit('typed.say', 'hello')
    await until(() => ticks.length === 1)
    expect(said).toEqual(['HELLO'])
    expect(ticks).toEqual([5])
  })
})
