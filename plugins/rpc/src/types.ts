/**
 * Public types. Method maps are augmentable (as Fastify decorators are typed): declare your methods
 * and `request`/`handle` infer params and results; any other method name still works, untyped.
 *
 * ```ts
 * declare module '@echostream/plugin-rpc' {
 *   interface ServerMethods { 'math.add': (p: { a: number; b: number }) => number }   // the server handles
 *   interface ClientMethods { whoami: () => { name: string } }                         // the client handles
 * }
 * ```
 *
 * Or, without augmenting: `const rpc = client.rpc.typed<MyServerContract, MyClientContract>()`.
 */
import type { HandlerOf, ParamsOf, ResultOf, RpcContext, RpcHandlerOptions, Schema, Session } from '@echostream/kernel'

/** Methods the server handles, which clients call with `client.rpc.request`: name → `(params) => result`. Augment it. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ServerMethods {}

/** Methods clients handle, which the server calls with `session.request`: name → `(params) => result`. Augment it. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ClientMethods {}

/** Options of one call. */
export interface RequestOptions {
  /** Milliseconds to wait for the reply, then reject with E_TIMEOUT (and tell the peer to cancel). 0 waits forever. Default: options.rpc.defaultTimeoutMs. */
  timeoutMs?: number
  /** Aborting it rejects the call with E_CANCELLED and aborts the handler's `ctx.signal` on the peer. */
  signal?: AbortSignal
  /** Streaming replies: fail with E_TIMEOUT when no item arrives for this long while the handler has credit. 0 = none. Default: options.rpc.idleTimeoutMs. */
  idleTimeoutMs?: number
  /** Streaming replies: the credit (bytes) granted to the handler's stream. Default: options.rpc.windowBytes. */
  windowBytes?: number
  /**
   * A schema (JSON Schema or Standard Schema) the result — each item, for a streaming reply — must
   * match, checked here on receipt; a mismatch fails the call with E_INVALID_RESULT (a stream is
   * cancelled). A Standard Schema's output (defaults, transforms) is what the call resolves with.
   */
  result?: Schema
}

/**
 * A streaming reply, as the caller reads it: `for await (const item of stream)`. Leaving the loop
 * early (`break`, `return`, a throw) cancels the call — the handler's `ctx.signal` aborts and its
 * generator's `finally` runs. A handler error ends the loop by throwing the coded EchoError.
 */
export interface RpcStream<T = unknown, R = unknown> extends AsyncIterableIterator<T> {
  /** The handler's return value (an async generator's `return`), once the last item was sent; rejects with the call's error. */
  readonly result: Promise<R>
  /** Cancels the call (as leaving the loop does); a no-op once it ended. */
  cancel(): void
  /** What `for await` calls when the loop is left early: cancels the call unless it already ended. */
  return(): Promise<IteratorResult<T>>
  [Symbol.asyncIterator](): RpcStream<T, R>
}

/** What a call resolves with: a handler returning an async iterable streams (`RpcStream<item, return value>`). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ReplyOf<R> = R extends AsyncGenerator<infer T, infer Ret, any> ? RpcStream<T, Ret> : R extends AsyncIterable<infer T> ? RpcStream<T, undefined> : R

/** What `rpc.stream` returns for a result type: its stream, or a stream of no items whose `result` is the value. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type StreamOfResult<R> = R extends AsyncGenerator<infer T, infer Ret, any> ? RpcStream<T, Ret> : R extends AsyncIterable<infer T> ? RpcStream<T, undefined> : RpcStream<never, R>

/** A method name from the map (suggested by editors) or any other string. */
export type MethodName<C> = (keyof C & string) | (string & {})

export type { ParamsOf, ResultOf, HandlerOf } from '@echostream/kernel'

/** The arguments after the method name: params may be left out when the method's params admit `undefined`. */
export type RequestArgs<C, M> = M extends keyof C ? ParamsAndOptions<ParamsOf<C[M]>> : [params?: unknown, options?: RequestOptions]
type ParamsAndOptions<P> = undefined extends P ? [params?: P, options?: RequestOptions] : [params: P, options?: RequestOptions]

/** What a call to `M` resolves with: the declared result (a stream for a streaming method), or `unknown` for an undeclared method. */
export type RequestResult<C, M> = M extends keyof C ? ReplyOf<ResultOf<C[M]>> : unknown

/** What `rpc.stream(M)` returns. */
export type StreamResult<C, M> = M extends keyof C ? StreamOfResult<ResultOf<C[M]>> : RpcStream

/** A handler for `M`: typed by the map when declared, else `(params: any, ctx) => unknown`. */
export type HandlerFor<C, M> = M extends keyof C
  ? HandlerOf<C[M]>
  : // eslint-disable-next-line @typescript-eslint/no-explicit-any
    (params: any, ctx: RpcContext) => unknown

/** Removes a handler registered with `handle` (idempotent). */
export type Unregister = () => void

/**
 * `kernel.rpc`, on both sides. `Remote`: the methods the peer handles (what `request` calls);
 * `Local`: the methods this side handles (what `handle` registers); `Peer`: what `requestTo` calls.
 * The defaults fit the kernel, which does not know its role: `request` (client only) calls
 * `ServerMethods`, `requestTo`/`session.request` call `ClientMethods`, `handle` takes either.
 */
export interface RpcApi<Remote = ServerMethods, Local = ServerMethods & ClientMethods, Peer = ClientMethods> {
  /**
   * Handles calls to `method` from the peer: `handler(params, ctx)` returns the result, a promise
   * of it, or an async iterable (a streaming result); throw an EchoError to answer with its code.
   * `options.params` / `options.result`: a JSON Schema or Standard Schema (zod…), compiled now;
   * bad params are answered E_INVALID_PARAMS, a bad result E_INVALID_RESULT. Returns the function
   * that removes it.
   */
  handle<M extends MethodName<Local>>(method: M, handler: HandlerFor<Local, M>, options?: RpcHandlerOptions): Unregister
  /** Client: calls `method` on the server. On a server this rejects with E_STATE: use `session.request`. */
  request<M extends MethodName<Remote>>(method: M, ...args: RequestArgs<Remote, M>): Promise<RequestResult<Remote, M>>
  /** Calls `method` on the peer of `session` (same as `session.request(...)`). */
  requestTo<M extends MethodName<Peer>>(session: Session, method: M, ...args: RequestArgs<Peer, M>): Promise<RequestResult<Peer, M>>
  /**
   * Client: calls a streaming `method` on the server and returns its reply stream at once, to read
   * with `for await`. Params that are an async iterable are streamed to the handler (its params is
   * then an async iterable too). A method that answers with a plain value ends the stream with no
   * items; `stream.result` holds the value.
   */
  stream<M extends MethodName<Remote>>(method: M, ...args: RequestArgs<Remote, M>): StreamResult<Remote, M>
  /** As `stream`, on the peer of `session`. */
  streamTo<M extends MethodName<Peer>>(session: Session, method: M, ...args: RequestArgs<Peer, M>): StreamResult<Peer, M>
  /**
   * This same API typed by contracts instead of augmentation: `Remote` is what the peer handles,
   * `Local` what this side handles. `server.rpc.typed<ClientApi, ServerApi>()`, `client.rpc.typed<ServerApi, ClientApi>()`.
   */
  typed<R extends object, L extends object = R>(): RpcApi<R, L, R>
  /** Names of the methods this side handles. */
  methods(): string[]
  /** Calls waiting for replies (on `session`, or on every session). */
  pendingCount(session?: Session): number
}

/** `session.request`: calls a method on this session's peer. */
export type SessionRequest<C = ClientMethods> = <M extends MethodName<C>>(method: M, ...args: RequestArgs<C, M>) => Promise<RequestResult<C, M>>

declare module '@echostream/kernel' {
  interface KernelApi {
    rpc: RpcApi
  }
  /** `defineRpc` checks a handler against the declared contract of its method. */
  interface TypeRegistry {
    rpcMethods: ServerMethods & ClientMethods
  }
  interface Session {
    /**
     * Calls `method` on this session's peer and resolves with its result: on a server, a method
     * the client handles (typed by `ClientMethods`); on a client, one the server handles (prefer
     * `client.rpc.request`, typed by `ServerMethods`). Rejects with E_CLOSED once the session is closed.
     */
    request<M extends MethodName<ClientMethods>>(method: M, ...args: RequestArgs<ClientMethods, M>): Promise<RequestResult<ClientMethods, M>>
  }
  interface RpcContext {
    /** The caller's timeout for this call in ms, when it set one per call (`meta.timeoutMs`); the caller cancels when it expires. */
    readonly timeoutMs?: number
  }
}
