/**
 * `kernel.rpc` and `session.request`. Plain closures over the engine (no `this`), so
 * `const { request } = client.rpc` works.
 */
import { EchoError, SERVER_BUILD, type PluginKernel, type RpcHandlerOptions, type Session } from '@echostream/kernel'
import type { RpcEngine } from './engine.js'
import type { AnyHandler } from './methods.js'
import { rpcErrors } from './errors.js'
import { failedStream } from './requester.js'
import type { RequestOptions, RpcApi, RpcStream } from './types.js'

export interface ApiState {
  /** Client: its session, as the `connect` hook last saw it. */
  clientSession: Session | undefined
}

export function createRpcApi(kernel: PluginKernel, engine: RpcEngine, state: ApiState): RpcApi {
  const requester = engine.requester
  const methods = engine.responder.methods
  const isServer = SERVER_BUILD && kernel.role === 'server'
  /** The client's session, or why there is none to call on. */
  const clientSession = (method: string): Session | EchoError => {
    if (isServer) return rpcErrors.serverRequest(method)
    let session = state.clientSession
    // Before the first connect (or after a reconnect made a new session) ask the kernel.
    if (session === undefined || session.state === 'closed') session = kernel.session ?? session
    return session ?? rpcErrors.notStarted(method)
  }
  const api = {
    handle(method: string, handler: AnyHandler, options?: RpcHandlerOptions) {
      return methods.add(method, handler, options)
    },
    request(method: string, params?: unknown, options?: RequestOptions): Promise<unknown> {
      const session = clientSession(method)
      return EchoError.is(session) ? Promise.reject(session) : requester.request(session, method, params, options)
    },
    requestTo(session: Session, method: string, params?: unknown, options?: RequestOptions): Promise<unknown> {
      if (!isSession(session)) return Promise.reject(notASession('requestTo'))
      return requester.request(session, method, params, options)
    },
    stream(method: string, params?: unknown, options?: RequestOptions): RpcStream {
      const session = clientSession(method)
      return EchoError.is(session) ? failedStream(session) : requester.stream(session, method, params, options)
    },
    streamTo(session: Session, method: string, params?: unknown, options?: RequestOptions): RpcStream {
      if (!isSession(session)) return failedStream(notASession('streamTo'))
      return requester.stream(session, method, params, options)
    },
    typed() {
      return api
    },
    methods() {
      return methods.names()
    },
    pendingCount(session?: Session) {
      return engine.pendingCount(session)
    },
  }
  return api as unknown as RpcApi
}

function isSession(session: unknown): session is Session {
  return typeof session === 'object' && session !== null && typeof (session as Session).send === 'function'
}

function notASession(fn: string): EchoError {
  return rpcErrors.invalidArgument(`rpc.${fn}(session, method): the first argument must be a session (ctx.session, server.sessions()).`)
}

/** The function installed as `session.request` (called with the session as `this`). */
export function createSessionRequest(engine: RpcEngine) {
  const requester = engine.requester
  return function request(this: Session, method: string, params?: unknown, options?: RequestOptions): Promise<unknown> {
    return requester.request(this, method, params, options)
  }
}
