export { EchoError, ErrorCodes, createError, defineErrors, messageOf, type ErrorCode, type EchoErrorOptions, type ErrorSpec, type WireError } from './errors.js'
export { describe } from './describe.js'
export { SchemaCompiler, isStandardSchema, isPending, MAX_PROBLEMS, type Schema, type SchemaOutput, type SchemaResult, type SchemaCheck, type SchemaCompilerOptions, type StandardSchemaV1 } from './schema.js'
export { monotonicMicros } from './clock.js'
export { kernelErrors } from './kernel-errors.js'
export { CloseCodes, KernelFrames, PROTOCOL_VERSION, isFrame, type Frame, type HelloPayload, type WelcomePayload, type HelloLimits, type WelcomeLimits } from './frame.js'
export { Stage, createHooks, authorize, type Hooks, type HookName, type Action } from './hooks.js'
export { definePlugin, isPluginDefinition, SINGLE_PROVIDER_CAPABILITIES, type PluginDefinition, type Dispose, type Role, type JsonSchema } from './plugin.js'
export { type Session, type SessionBase, type SessionData, type SessionStore, type CloseInfo, type SessionState, type SendOptions } from './session.js'
export { type Codec, type Connection, type Transport, type DecodeResult, type TransportLimits } from './transport.js'
export {
  Kernel,
  createKernel,
  DEFAULT_OUTBOUND_BUDGET,
  type KernelStats,
  type FanoutReport,
  type KernelApi,
  type KernelOptions,
  type KernelState,
  type EchoKernel,
  type PluginKernel,
  type PluginScope,
  type FrameRoute,
  type LoadedPlugin,
  type Logger,
} from './kernel.js'
export { defineConfig, loadConfigFile, assemble, CONFIG_SEARCH_PLACES, type EchoConfig, type PluginEntry, type Assembly, type AssembledPlugin } from './config.js'
export { substituteEnv } from './env.js'
export { createServer, createClient, resolveConfig, type EchoServer, type EchoClient, type CreateOptions } from './create.js'
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
export { KERNEL_VERSION } from './loader/order.js'
export { resolveSpecifier, importFile } from './loader/resolve.js'
export { validateOptions } from './loader/options.js'
