/**
 * Declarative handler modules — the TypeScript face of an `#[rpc("user.login")]` attribute:
 * a module exports `defineRpc(...)`/`defineEvent(...)` values and a config lists the module under
 * `handlers`. The kernel hands each definition to the plugin registered for its kind.
 */
import type { Session } from './session.js'
import type { JsonSchema } from './plugin.js'

const HANDLER = Symbol.for('echostream.handler')

export interface HandlerDefinition<Kind extends string = string, Fn = (...args: never[]) => unknown, Options = unknown> {
  readonly [HANDLER]: true
  readonly kind: Kind
  readonly name: string
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

export interface RpcHandlerOptions {
  /** JSON schema the params must match; a mismatch answers `E_INVALID_PARAMS`. */
  schema?: JsonSchema
}

export type EventHandler<D = any> = (data: D, session: Session) => void | Promise<void>

export function defineHandler<Kind extends string, Fn, Options>(kind: Kind, name: string, handler: Fn, options: Options): HandlerDefinition<Kind, Fn, Options> {
  return Object.freeze({ [HANDLER]: true as const, kind, name, handler, options })
}

export function defineRpc<P = any, R = unknown>(method: string, handler: RpcHandler<P, R>, options: RpcHandlerOptions = {}): HandlerDefinition<'rpc', RpcHandler<P, R>, RpcHandlerOptions> {
  return defineHandler('rpc', method, handler, options)
}

export function defineEvent<D = any>(event: string, handler: EventHandler<D>): HandlerDefinition<'event', EventHandler<D>, Record<string, never>> {
  return defineHandler('event', event, handler, {})
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
