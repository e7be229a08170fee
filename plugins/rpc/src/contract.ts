/**
 * Contracts inferred from handler definitions (as tRPC's `typeof appRouter`): the types of what
 * a handler module exports, turned into the maps `rpc.typed<…>()` and the events augmentation take.
 * The handler module is the single source of truth; nothing is written twice.
 *
 * ```ts
 * // server/handlers.ts
 * export const add = defineRpc('math.add', ({ a, b }: { a: number; b: number }) => a + b)
 * export const api = defineRouter({ 'llm.complete': async function* (p: { prompt: string }) { yield 'token' } })
 * export const said = defineEvent('chat.say', (data: { text: string }) => {})
 *
 * // client.ts
 * import type * as handlers from './server/handlers.js'
 * const rpc = client.rpc.typed<RpcContractOf<typeof handlers>>()
 * await rpc.request('math.add', { a: 1, b: 2 })         // number
 * for await (const token of rpc.stream('llm.complete', { prompt: 'hi' })) token // string
 * declare module '@echostream/plugin-events' { interface ClientEvents extends EventsContractOf<typeof handlers> {} }
 * ```
 */
import { defineHandler, type HandlerDefinition, type HandlerOf, type RpcContext, type RpcHandlerOptions } from '@echostream/kernel'
import { rpcErrors } from './errors.js'

/* eslint-disable @typescript-eslint/no-explicit-any */

type AnyDefinition = HandlerDefinition<string, any, any, string>

/** The handler definitions in `T`: a module's exports (named, default, arrays of them — routers), an array, or one definition. */
type DefinitionsIn<T> = T extends AnyDefinition
  ? T
  : T extends ReadonlyArray<infer D>
    ? Extract<D, AnyDefinition>
    : { [K in keyof T]: T[K] extends ReadonlyArray<infer D> ? Extract<D, AnyDefinition> : Extract<T[K], AnyDefinition> }[keyof T]

/** A definition's name, when it is a literal (a `string` name cannot be a contract key). */
type LiteralName<D> = D extends HandlerDefinition<any, any, any, infer N> ? (string extends N ? never : N) : never

/** A handler `(params, ctx) => result` as a contract entry `(params) => result`. */
type EntryOf<F> = F extends (params: infer P, ctx: RpcContext) => infer R ? (params: P) => R : never

/**
 * name → `(params) => result` for every rpc handler in `T` (a handler module's `typeof`, a router,
 * a definition). Results keep their shape: an async generator handler gives a streaming entry, so
 * a typed `request`/`stream` yields its item type. What `rpc.typed<Remote, Local>()` takes.
 */
export type RpcContractOf<T> = {
  [D in Extract<DefinitionsIn<T>, HandlerDefinition<'rpc', any, any, string>> as LiteralName<D>]: D extends HandlerDefinition<'rpc', infer F, any, any> ? EntryOf<F> : never
}

/** event name → payload for every `defineEvent` in `T`: extend the events plugin's `ClientEvents` / `ServerEvents` with it. */
export type EventsContractOf<T> = {
  [D in Extract<DefinitionsIn<T>, HandlerDefinition<'event', any, any, string>> as LiteralName<D>]: D extends HandlerDefinition<'event', (data: infer Data, ...rest: any[]) => any, any, any>
    ? Data
    : never
}

/** A router entry: a handler, or a handler with its options (schemas). */
export type RouteEntry = ((params: any, ctx: RpcContext) => unknown) | ({ handler: (params: any, ctx: RpcContext) => unknown } & RpcHandlerOptions)

type HandlerOfEntry<E> = E extends { handler: infer F } ? F : E

/**
 * A router: the handler definitions of many methods at once. It is an array of `defineRpc`
 * definitions, so a handler module may export it (or list it under `handlers`), and its type is
 * the contract: `RpcContractOf<typeof router>`.
 */
export type Router<R> = ReadonlyArray<{ [K in keyof R & string]: HandlerDefinition<'rpc', HandlerOfEntry<R[K]>, RpcHandlerOptions, K> }[keyof R & string]>

/** Many methods in one value; each entry is a handler or `{ handler, params?, result? }`. */
export function defineRouter<const R extends Record<string, RouteEntry>>(routes: R): Router<R> {
  const definitions: AnyDefinition[] = []
  for (const [method, entry] of Object.entries(routes)) {
    if (typeof entry === 'function') definitions.push(defineHandler('rpc', method, entry, {}))
    else if (typeof entry === 'object' && entry !== null && typeof entry.handler === 'function') {
      const { handler, ...options } = entry
      definitions.push(defineHandler('rpc', method, handler, options))
    } else throw rpcErrors.invalidArgument(`defineRouter: the entry for '${method}' must be a handler function or { handler, params?, result? }.`)
  }
  return Object.freeze(definitions) as unknown as Router<R>
}

/** Handlers for every method of contract `C`, each typed by it: params need no annotations, and a handler that contradicts `C` (or a missing or extra method) is a type error. */
export type Implementation<C> = { [K in keyof C]: HandlerOf<C[K]> | ({ handler: HandlerOf<C[K]> } & RpcHandlerOptions) }

/**
 * A router that implements a declared contract: `implement<MathContract>({ 'math.add': ({ a, b }) => a + b })`.
 * Its type is the contract's router, so `RpcContractOf<typeof router>` gives `C` back.
 */
export function implement<C>(routes: Implementation<C>): Router<{ [K in keyof C & string]: HandlerOf<C[K]> }> {
  return defineRouter(routes as unknown as Record<string, RouteEntry>) as unknown as Router<{ [K in keyof C & string]: HandlerOf<C[K]> }>
}
