/**
 * `kernel.rpc` and `session.request`. Plain closures over the engine (no `this`), so
 * `const { request } = client.rpc` works.
 */
import type { PluginKernel, RpcHandlerOptions, Session } from '@echostream/kernel'
import type { RpcEngine } from './engine.js'
import { rpcErrors } from './errors.js'
import type { RequestOptions, RpcApi } from './types.js'

export interface ApiState {
  /** Client: its session, as the `connect` hook last saw it. */
  clientSession: Session | undefined
}

export function createRpcApi(kernel: PluginKernel, engine: RpcEngine, state: ApiState): RpcApi {
  const requester = engine.requester
  const responder = engine.responder
  const isServer = kernel.role === 'server'
  const api = {
    handle(method: string, handler: Parameters<typeof responder.handle>[1], options?: RpcHandlerOptions) {
      return responder.handle(method, handler, options)
    },
    request(method: string, params?: unknown, options?: RequestOptions): Promise<unknown> {
      if (isServer) return Promise.reject(rpcErrors.serverRequest(method))
      let session = state.clientSession
      // Before the first connect (or after a reconnect made a new session) ask the kernel.
      if (session === undefined || session.state === 'closed') session = kernel.session ?? session
      if (session === undefined) return Promise.reject(rpcErrors.notStarted(method))
      return requester.request(session, method, params, options)
    },
    requestTo(session: Session, method: string, params?: unknown, options?: RequestOptions): Promise<unknown> {
      if (typeof session !== 'object' || session === null || typeof session.send !== 'function') {
        return Promise.reject(rpcErrors.invalidArgument(`rpc.requestTo(session, method): the first argument must be a session (ctx.session, server.sessions()).`))
      }
      return requester.request(session, method, params, options)
    },
    typed() {
      return api
    },
    methods() {
      return responder.methods()
    },
    pendingCount(session?: Session) {
      return engine.pendingCount(session)
    },
  }
  return api as unknown as RpcApi
}

/** The function installed as `session.request` (called with the session as `this`). */
export function createSessionRequest(engine: RpcEngine) {
  const requester = engine.requester
  return function request(this: Session, method: string, params?: unknown, options?: RequestOptions): Promise<unknown> {
    return requester.request(this, method, params, options)
  }
}
