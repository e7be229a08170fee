import { definePlugin, EchoError, ErrorCodes, type Frame, type HandlerDefinition, type RpcHandlerOptions, type Session, type KernelApi } from '@echostream/kernel'
import { createRpcApi, createSessionRequest, type ApiState } from './api.js'
import { RpcEngine } from './engine.js'
import { RpcFrames, RPC_WIRE_VERSION } from './frames.js'
import { schema, type RpcOptions } from './options.js'
import type { Authorizer } from './responder.js'
import { version } from './version.js'

const PLUGIN_NAME = 'rpc'

/**
 * Request/response calls in both directions. Provides the `rpc` capability, exposes `kernel.rpc`,
 * adds `session.request`, and takes `defineRpc` handler modules.
 */
export default definePlugin<RpcOptions, Pick<KernelApi, 'rpc'>>({
  name: PLUGIN_NAME,
  version,
  kernel: '^1',
  provides: ['rpc'],
  requires: ['transport', 'codec'],
  wire: RPC_WIRE_VERSION,
  schema,
  setup(kernel, options) {
    // `setup` gets the kernel itself; its hooks are read per request, so taps added later (or dropped by an unload) count.
    const raw = kernel
    const authorize: Authorizer = (method, session) => {
      const hook = raw.hooks.authorize
      if (hook.taps.length === 0) return undefined
      return hook.call({ kind: 'rpc', name: method }, session) ?? undefined
    }
    const engine = new RpcEngine({ ...options, role: kernel.role, logger: kernel.logger, authorize })
    const { requester, responder } = engine
    const state: ApiState = { clientSession: undefined }

    kernel.route(RpcFrames.request, {
      handler: (frame: Frame, session: Session) => responder.onRequest(frame, session),
      // The peer answered one of our requests with a kernel `error` frame (e.g. it lacks this plugin).
      onError: (error: EchoError, id: number | undefined, session: Session) => requester.onRefused(error, id, session),
    })
    kernel.route(RpcFrames.result, { handler: (frame: Frame, session: Session) => requester.onResult(frame, session) })
    kernel.route(RpcFrames.error, { handler: (frame: Frame, session: Session) => requester.onError(frame, session) })
    kernel.route(RpcFrames.cancel, { handler: (frame: Frame, session: Session) => responder.onCancel(frame, session) })
    // Streaming calls: `size` (the message's byte length) is what the item is charged against the credit.
    kernel.route(RpcFrames.item, { handler: (frame: Frame, session: Session, size: number) => requester.onItem(frame, session, size) })
    kernel.route(RpcFrames.end, { handler: (frame: Frame, session: Session) => requester.onEnd(frame, session) })
    kernel.route(RpcFrames.credit, { handler: (frame: Frame, session: Session) => responder.onCredit(frame, session) })
    kernel.route(RpcFrames.input, { handler: (frame: Frame, session: Session, size: number) => responder.onInput(frame, session, size) })
    kernel.route(RpcFrames.inputEnd, { handler: (frame: Frame, session: Session) => responder.onInputEnd(frame, session) })
    kernel.route(RpcFrames.inputCredit, { handler: (frame: Frame, session: Session) => requester.onInputCredit(frame, session) })

    if (kernel.role === 'client') {
      kernel.hooks.connect.tap(PLUGIN_NAME, (session: Session) => {
        state.clientSession = session
      })
    }
    kernel.hooks.disconnect.tap(PLUGIN_NAME, (session, info) => engine.onDisconnect(session, info))
    kernel.hooks.resumed.tap(PLUGIN_NAME, (session) => engine.onResumed(session))
    // Before the transport closes the sockets: pending calls fail with a message that says why.
    // (Unloading the plugin runs this tap too, while the kernel keeps running.)
    kernel.hooks.stop.tap(PLUGIN_NAME, () => engine.closeAll(kernel.state === 'stopping' ? 'is stopping' : 'unloaded its rpc plugin'))
    kernel.hooks.drain.tapPromise(PLUGIN_NAME, (deadline: number) => engine.whenIdle(deadline))

    const api = createRpcApi(kernel, engine, state)
    kernel.expose('rpc', api)
    kernel.decorateSession('request', createSessionRequest(engine))
    kernel.registerHandlerKind('rpc', (definition: HandlerDefinition) => {
      if (typeof definition.handler !== 'function') {
        throw new EchoError(ErrorCodes.E_CONFIG, `defineRpc('${definition.name}', handler): the handler must be a function.`)
      }
      api.handle(definition.name, definition.handler as never, definition.options as RpcHandlerOptions | undefined)
    })

    return () => engine.closeAll('unloaded its rpc plugin')
  },
})

export { schema, type RpcOptions } from './options.js'
export { RpcFrames, RPC_WIRE_VERSION, DEFAULT_WINDOW } from './frames.js'
export { RpcErrorCodes, type RpcErrorCode } from './errors.js'
export { RpcEngine, type RpcEngineOptions } from './engine.js'
export { CallContext } from './context.js'
export { defineRouter, implement, type RpcContractOf, type EventsContractOf, type Router, type RouteEntry, type Implementation } from './contract.js'
export type { Authorizer } from './responder.js'
export type {
  ServerMethods,
  ClientMethods,
  RpcApi,
  RequestOptions,
  MethodName,
  ParamsOf,
  ResultOf,
  RequestArgs,
  RequestResult,
  HandlerFor,
  Unregister,
  SessionRequest,
  RpcStream,
  ReplyOf,
  StreamOfResult,
  StreamResult,
  HandlerOf,
} from './types.js'

declare module '@echostream/kernel' {
  /** For configs that name this plugin by string: the API it adds (see the kernel's config-types.ts). */
  interface PluginApis {
    '@echostream/plugin-rpc': Pick<KernelApi, 'rpc'>
  }
}
