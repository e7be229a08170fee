/**
 * Declarative handler modules — the TypeScript face of an `#[rpc("user.login")]` attribute:
 * a module exports `defineRpc(...)`/`defineEvent(...)` values and a config lists the module under
 * `handlers`. The kernel hands each definition to the plugin registered for its kind.
 */
import type { Session } from './session.js'
import type { Schema } from './schema.js'

const HANDLER = Symbol.for('echostream.handler')

export interface HandlerDefinition<Kind extends string = string, Fn = (...args: never[]) => unknown, Options = unknown, Name extends string = string> {
  readonly [HANDLER]: true
  readonly kind: Kind
  /** The method, event or stream name; its literal type lets a contract be inferred from a handler module. */
  readonly name: Name
  readonly handler: Fn
  readonly options: Options
}

/** What an RPC handler receives besides its params. */
export interface RpcContext {
  /** The session that called (server side) or the client's own session (client side). */
  session: Session
  /** Aborted when the caller cancels, the call times out, or the connection drops. */
  signal: AbortSignal
  /** The method name. */
  method: string
}

export type RpcHandler<P = any, R = unknown> = (params: P, ctx: RpcContext) => R | Promise<R>

/**
 * Types that packages register here (the `Register` pattern of TanStack Router): the rpc plugin
 * adds `rpcMethods` — its declared `ServerMethods & ClientMethods` — so that `defineRpc` checks a
 * handler against the declared contract of its method.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface TypeRegistry {}

/** The declared rpc contract (name → `(params) => result`), or `{}` without the rpc plugin's types. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export type DeclaredRpcMethods = TypeRegistry extends { rpcMethods: infer M } ? M : {}

/** The params type of a contract entry `(params: P) => R`; `undefined` for `() => R`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ParamsOf<F> = F extends (...args: infer A) => any ? (A extends [] ? undefined : A[0]) : unknown

/** The (awaited) result type of a contract entry; an async iterable (a streaming result) as it is. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ResultOf<F> = F extends (...args: any[]) => infer R ? Awaited<R> : unknown

/** A handler that implements contract entry `F`: typed params, and the result (or a promise of it, or the declared async iterable). */
export type HandlerOf<F> = (params: ParamsOf<F>, ctx: RpcContext) => ResultOf<F> | PromiseLike<ResultOf<F>>

/** What `defineRpc(method, …)` takes as its handler: the declared contract's, when `method` is declared. */
export type RpcHandlerFor<M extends string, P, R> = M extends keyof DeclaredRpcMethods ? HandlerOf<DeclaredRpcMethods[M]> : RpcHandler<P, R>

export interface RpcHandlerOptions {
  /**
   * The params (for a streamed input, each item): a JSON Schema or a Standard Schema validator
   * (zod, valibot, arktype). Checked on receipt; a mismatch answers `E_INVALID_PARAMS` listing the
   * problems, and the handler does not run.
   */
  params?: Schema
  /**
   * The result (for a streaming handler, each item). Checked before sending when the rpc plugin's
   * `checkResults` says so (by default outside production); a mismatch answers `E_INVALID_RESULT`.
   */
  result?: Schema
  /** The same as `params` (its name before rpc wire 2). */
  schema?: Schema
}

export interface EventHandlerOptions {
  /** The payload: a JSON Schema or a Standard Schema validator; a mismatch is refused with `E_INVALID_PAYLOAD` before any listener runs. */
  schema?: Schema
}

export type EventHandler<D = any> = (data: D, session: Session) => void | Promise<void>

export function defineHandler<Kind extends string, Fn, Options, Name extends string = string>(kind: Kind, name: Name, handler: Fn, options: Options): HandlerDefinition<Kind, Fn, Options, Name> {
  return Object.freeze({ [HANDLER]: true as const, kind, name, handler, options })
}

/**
 * An rpc handler for a handler module. The method name's literal type is kept, so the module's
 * contract can be inferred (`RpcContractOf<typeof module>` in plugin-rpc). When the method is
 * declared (`ServerMethods` / `ClientMethods` of plugin-rpc), the handler is typed by — and
 * checked against — that declaration: params need no annotation, a contradicting one is an error.
 * (Explicit type arguments `defineRpc<P, R>(…)` still work; the name is then `string` and stays
 * out of inferred contracts: pass it as the third, `defineRpc<P, R, 'math.add'>`.)
 */
export function defineRpc<P = any, R = unknown, M extends string = string>(method: M, handler: RpcHandlerFor<M, P, R>, options: RpcHandlerOptions = {}): HandlerDefinition<'rpc', RpcHandlerFor<M, P, R>, RpcHandlerOptions, M> {
  return defineHandler('rpc', method, handler, options)
}

/** An event listener for a handler module; the event name's literal type is kept (for `EventsContractOf`). */
export function defineEvent<D = any, N extends string = string>(event: N, handler: EventHandler<D>, options: EventHandlerOptions = {}): HandlerDefinition<'event', EventHandler<D>, EventHandlerOptions, N> {
  return defineHandler('event', event, handler, options)
}

export function isHandlerDefinition(value: unknown): value is HandlerDefinition {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[HANDLER] === true
}

/** Every handler definition a module exports (named exports, a default export, or arrays of them). */
export function handlersOf(moduleNamespace: Record<string, unknown>): HandlerDefinition[] {
  const found: HandlerDefinition[] = []
  const visit = (value: unknown) => {
    if (isHandlerDefinition(value)) found.push(value)
    else if (Array.isArray(value)) value.forEach(visit)
  }
  for (const value of Object.values(moduleNamespace)) visit(value)
  return [...new Set(found)]
}
