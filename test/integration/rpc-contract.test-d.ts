/**
 * Type tests, checked by `pnpm test` (its typecheck step compiles every `test/**\/*.ts`): an
 * `expectTypeOf` that does not hold, or a `@ts-expect-error` with no error under it, fails the run
 * (test/integration/rpc-type-tests.test.ts proves that with a file that must not compile).
 *
 * Contracts inferred from a handler module; routers; `implement<Contract>`; `defineRpc` checked
 * against a declared contract; streaming items; events through the events plugin's augmentation.
 */
import { expectTypeOf } from 'vitest'
import { defineRpc, type EchoKernel, type RpcContext, type Session } from '@echostream/kernel'
import type { EventsApi } from '@echostream/plugin-events'
import { defineRouter, implement, type EventsContractOf, type RpcContractOf, type RpcStream } from '@echostream/plugin-rpc'
import type * as serverHandlers from '../fixtures/rpc-contract/server-handlers.js'

type ServerContract = RpcContractOf<typeof serverHandlers>

// ----------------------------------------------------------- the inferred contract

expectTypeOf<keyof ServerContract>().toEqualTypeOf<
  'ct.math.add' | 'ct.math.slowly' | 'ct.ping' | 'ct.llm.complete' | 'ct.upload' | 'ct.users.get' | 'ct.users.watch' | 'ct.double'
>()

declare const client: EchoKernel
declare const session: Session
const rpc = client.rpc.typed<ServerContract>()

// params and results
expectTypeOf(rpc.request('ct.math.add', { a: 1, b: 2 })).toEqualTypeOf<Promise<number>>()
expectTypeOf(rpc.request('ct.math.slowly', 5)).toEqualTypeOf<Promise<{ n: number; at: number }>>()
expectTypeOf(rpc.request('ct.ping')).toEqualTypeOf<Promise<'pong'>>()
expectTypeOf(rpc.request('ct.users.get', 'u1')).toEqualTypeOf<Promise<{ id: string; name: string }>>()
// @ts-expect-error params of the wrong type
void rpc.request('ct.math.add', { a: 1, b: '2' })
// @ts-expect-error params missing
void rpc.request('ct.math.add')
// @ts-expect-error a params object with an unknown field
void rpc.request('ct.math.add', { a: 1, b: 2, c: 3 })

// streaming results: the item type, and the generator's return value
expectTypeOf(rpc.stream('ct.llm.complete', { prompt: 'hi there' })).toEqualTypeOf<RpcStream<string, { tokens: number; finish: 'stop' }>>()
expectTypeOf(rpc.request('ct.llm.complete', { prompt: 'hi' })).toEqualTypeOf<Promise<RpcStream<string, { tokens: number; finish: 'stop' }>>>()
async function readTokens(): Promise<void> {
  const stream = rpc.stream('ct.llm.complete', { prompt: 'a b' })
  for await (const token of stream) expectTypeOf(token).toEqualTypeOf<string>()
  expectTypeOf(await stream.result).toEqualTypeOf<{ tokens: number; finish: 'stop' }>()
  for await (const status of rpc.stream('ct.users.watch', 'u1')) expectTypeOf(status).toEqualTypeOf<{ id: string; online: boolean }>()
}
void readTokens
// a unary method through stream(): no items, its value as the result
expectTypeOf(rpc.stream('ct.math.add', { a: 1, b: 2 })).toEqualTypeOf<RpcStream<never, number>>()

// client → server streaming and bidirectional calls
declare const chunks: AsyncIterable<Uint8Array>
declare const numbers: AsyncGenerator<number>
expectTypeOf(rpc.request('ct.upload', chunks)).toEqualTypeOf<Promise<number>>()
// @ts-expect-error the input must be an async iterable of Uint8Array
void rpc.request('ct.upload', numbers)
expectTypeOf(rpc.stream('ct.double', numbers)).toEqualTypeOf<RpcStream<number, void>>()

// names outside the contract are not offered by the inferred one's literal keys, but still callable untyped
expectTypeOf(rpc.request('somewhere.else')).toEqualTypeOf<Promise<unknown>>()
// a definition made with explicit type arguments and no literal name stays out of the contract
// @ts-expect-error 'ct.legacy' is not a key
expectTypeOf<ServerContract['ct.legacy']>().toBeNever()

// the server side of the same contract: handle() is typed by it
const server = client.rpc.typed<{ 'ct.client.whoami': () => { name: string } }, ServerContract>()
server.handle('ct.math.add', ({ a, b }) => a + b)
// @ts-expect-error the result must be a number
server.handle('ct.math.add', ({ a }) => String(a))
expectTypeOf(server.requestTo(session, 'ct.client.whoami')).toEqualTypeOf<Promise<{ name: string }>>()

// ----------------------------------------------------------- events from the same module

type ServerEventsContract = EventsContractOf<typeof serverHandlers>
expectTypeOf<ServerEventsContract>().toEqualTypeOf<{ 'ct.chat.say': { room: string; text: string }; 'ct.note': string }>()

declare module '@echostream/plugin-events' {
  // What this client sends is what the server's handler module listens to.
  interface ClientEvents extends EventsContractOf<typeof serverHandlers> {}
}
declare const events: EventsApi
events.emit('ct.chat.say', { room: 'lobby', text: 'hi' })
// @ts-expect-error the payload must have a room
events.emit('ct.chat.say', { text: 'hi' })
// @ts-expect-error 'ct.note' carries a string
events.emit('ct.note', 42)

// ----------------------------------------------------------- a declared contract, implemented

interface MathContract {
  'ct2.add': (p: { a: number; b: number }) => number
  'ct2.count': (n: number) => AsyncGenerator<number, string>
}

const mathRouter = implement<MathContract>({
  'ct2.add': ({ a, b }) => a + b, // params typed by the contract, no annotation
  'ct2.count': async function* (n) {
    for (let i = 0; i < n; i++) yield i
    return 'done'
  },
})
expectTypeOf<RpcContractOf<typeof mathRouter>['ct2.add']>().returns.toEqualTypeOf<number | PromiseLike<number>>()
expectTypeOf(client.rpc.typed<RpcContractOf<typeof mathRouter>>().request('ct2.add', { a: 1, b: 2 })).toEqualTypeOf<Promise<number>>()

implement<MathContract>({
  // @ts-expect-error a handler contradicting the contract (returns a string)
  'ct2.add': ({ a, b }) => `${a + b}`,
  'ct2.count': async function* () {
    yield 1
    return 'x'
  },
})
// @ts-expect-error a method of the contract is missing
implement<MathContract>({ 'ct2.add': ({ a, b }) => a + b })
implement<MathContract>({
  'ct2.add': ({ a, b }) => a + b,
  'ct2.count': async function* () {
    return 'x'
  },
  // @ts-expect-error a method the contract does not have
  'ct2.extra': () => 1,
})

// ----------------------------------------------------------- defineRpc against the declared maps

declare module '@echostream/plugin-rpc' {
  interface ServerMethods {
    'ct3.greet': (p: { name: string }) => string
  }
}
// A declared method: the handler is typed by the declaration (no annotation needed)…
export const greet = defineRpc('ct3.greet', ({ name }, ctx) => {
  expectTypeOf(name).toEqualTypeOf<string>()
  expectTypeOf(ctx).toEqualTypeOf<RpcContext>()
  return `hello ${name}`
})
// …and a contradicting handler is an error.
// @ts-expect-error returns a number where the declaration says string
export const greetWrong = defineRpc('ct3.greet', ({ name }) => name.length)
// @ts-expect-error params contradict the declaration
export const greetWrongParams = defineRpc('ct3.greet', (p: { name: number }) => String(p.name))
// An undeclared method is free, and its name is kept.
const free = defineRpc('ct3.free', (n: number) => n * 2)
expectTypeOf(free.name).toEqualTypeOf<'ct3.free'>()

// A router with per-entry options keeps its types.
const withOptions = defineRouter({ 'ct4.a': { handler: (p: { q: string }) => p.q.length, params: { type: 'object' } } })
expectTypeOf<RpcContractOf<typeof withOptions>>().toEqualTypeOf<{ 'ct4.a': (params: { q: string }) => number }>()
