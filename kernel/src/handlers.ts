/**
 * Declarative handler modules — the TypeScript face of an `#[rpc("user.login")]` attribute:
 * a module exports `defineRpc(...)`/`defineEvent(...)` values and a config lists the module under
 * `handlers`. The kernel hands each definition to the plugin registered for its kind.
 */
import type { Session } from './session.js'
import type { Schema } from './schema.js'

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

export function defineHandler<Kind extends string, Fn, Options>(kind: Kind, name: string, handler: Fn, options: Options): HandlerDefinition<Kind, Fn, Options> {
  return Object.freeze({ [HANDLER]: true as const, kind, name, handler, options })
}

export function defineRpc<P = any, R = unknown>(method: string, handler: RpcHandler<P, R>, options: RpcHandlerOptions = {}): HandlerDefinition<'rpc', RpcHandler<P, R>, RpcHandlerOptions> {
  return defineHandler('rpc', method, handler, options)
}

export function defineEvent<D = any>(event: string, handler: EventHandler<D>, options: EventHandlerOptions = {}): HandlerDefinition<'event', EventHandler<D>, EventHandlerOptions> {
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
