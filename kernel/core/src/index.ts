/**
 * @echostream/kernel — the runs-anywhere core: hooks, the frame pipeline, sessions, the handshake,
 * the plugin host, errors. No Node module, no Node global: it bundles for browsers and workers.
 * Config files, specifier resolution and the CLI are in @echostream/node.
 */
export { EchoError, ErrorCodes, createError, defineErrors, messageOf, type ErrorCode, type EchoErrorOptions, type ErrorSpec, type WireError } from './errors.js'
export { describe } from './describe.js'
export { SchemaCompiler, isStandardSchema, isPending, MAX_PROBLEMS, type Schema, type SchemaOutput, type SchemaResult, type SchemaCheck, type SchemaCompilerOptions, type StandardSchemaV1 } from './schema.js'
export { monotonicMicros } from './clock.js'
export { seededRandom, type SeededRandom } from './random.js'
export type { DevtoolsServerInfo, DevtoolsSession, DevtoolsRoom, DevtoolsStream, DevtoolsClockReading, DevtoolsClock, DevtoolsRates, DevtoolsError, DevtoolsSnapshot } from './devtools-snapshot.js'
export { kernelErrors } from './kernel-errors-all.js'
export { CloseCodes, KernelFrames, PROTOCOL_VERSION, isFrame, type Frame, type HelloPayload, type WelcomePayload, type HelloLimits, type WelcomeLimits } from './frame.js'
export { Stage, createHooks, authorize, type Hooks, type HookName, type Action, type OwnedTapOptions } from './hooks.js'
export { definePlugin, isPluginDefinition, SINGLE_PROVIDER_CAPABILITIES, type PluginDefinition, type Dispose, type Role, type JsonSchema, type OptionsOf } from './plugin.js'
export { MAX_PEER_PAYLOAD, type Session, type SessionBase, type SessionData, type SessionStore, type CloseInfo, type SessionState, type SendOptions } from './session.js'
export { type Codec, type Connection, type Transport, type DecodeResult, type TransportLimits } from './transport.js'
export {
  Kernel,
  createKernel,
  DEFAULT_OUTBOUND_BUDGET,
  type KernelApi,
  type KernelOptions,
  type EchoKernel,
  type PluginKernel,
  type FrameRoute,
  type LoadedPlugin,
} from './kernel.js'
export { type Logger, type LoggerProvider, type KernelLogger, type LogFields } from './logger.js'
export { APP_OWNER, type PluginScope, type Measure } from './host.js'
export { closeReason, type KernelStats, type FanoutReport } from './pipeline.js'
export { type KernelState } from './lifecycle.js'
export { defineListener, type AppData, type AppEvent, type AppEvents, type AppSurface, type EchoServer, type EchoClient, type EchoServerOf, type EchoClientOf, type ErrorContext, type Store } from './app.js'
export type { ApisOf, PluginApis, PresetApis } from './config-types.js'
export { defineConfig, assemble, type EchoConfig, type PluginEntry, type Assembly, type AssembledPlugin, type ConfigResolver, type AssembleOptions } from './config.js'
export { createServer, createClient, fromAssembly, kernelOf, type CreateOptions } from './create.js'
export { basicValidator, deepFreeze, cloneOptions, type OptionsValidator } from './options.js'
export {
  defineRpc,
  defineEvent,
  defineHandler,
  isHandlerDefinition,
  handlersOf,
  type HandlerDefinition,
  type RpcContext,
  type RpcHandler,
  type TypeRegistry,
  type DeclaredRpcMethods,
  type ParamsOf,
  type ResultOf,
  type HandlerOf,
  type RpcHandlerFor,
  type RpcHandlerOptions,
  type EventHandler,
  type EventHandlerOptions,
} from './handlers.js'
export { KERNEL_VERSION } from './version.js'
export { SERVER_BUILD } from './server-build.js'
export { orderPlugins, checkKernelRange, checkRole } from './order.js'
export { defineTransportPlugin, formatPeer, TLS_OPTION_PROPERTIES, type PeerSource, type SocketTransportOptions, type TransportPluginSpec, type TransportServer } from './transport-kit.js'
export { PingRounds, type PingedConnection } from './ping-rounds.js'
export { listenHttp, type HttpListener, type HttpServerLike } from './http-listener.js'
