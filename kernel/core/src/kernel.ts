/**
 * The microkernel: one object that plugins get (the plumbing: hooks, routes, sending, the
 * codec and transport) and applications see through the `EchoServer`/`EchoClient` facade types.
 * The work lives in its parts: the plugin host (host.ts), sessions and the frame pipeline
 * (pipeline.ts), the handshake strategies (handshake/), start and stop (lifecycle.ts).
 */
import { EchoError, messageOf } from './errors.js'
import { kernelErrors } from './kernel-errors.js'
import { Stage } from './hooks.js'
import { APP_OWNER, PluginHost, type Measure, type PluginScope } from './host.js'
import { loadPlugin, unloadPlugin } from './runtime-plugins.js'
import { fanout } from './fanout.js'
import { Pipeline, type FanoutReport, type KernelStats } from './pipeline.js'
import { ServerHandshake } from './handshake/server.js'
import { ClientHandshake } from './handshake/client.js'
import { Lifecycle, type KernelState } from './lifecycle.js'
import { basicValidator, type OptionsValidator } from './options.js'
import { KERNEL_VERSION } from './version.js'
import { SERVER_BUILD } from './server-build.js'
import { LoggerSeam, type KernelLogger, type Logger, type LoggerProvider } from './logger.js'
import type { AppData, AppEvent, AppEvents, Store } from './app.js'
import type { Frame } from './frame.js'
import type { Hooks } from './hooks.js'
import type { HandlerDefinition } from './handlers.js'
import type { Dispose, PluginDefinition, Role } from './plugin.js'
import type { SendOptions, Session, SessionImpl } from './session.js'
import type { Codec, Transport, TransportLimits } from './transport.js'

/** Plugins add their APIs here by module augmentation: `declare module '@echostream/kernel' { interface KernelApi { rpc: RpcApi } }`. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface KernelApi {}

/** The default outbound budget per session: 8 MiB (8× transport-ws's default high-water mark of 1 MiB). */
export const DEFAULT_OUTBOUND_BUDGET = 8 * 1024 * 1024

export interface KernelOptions {
  role: Role
  /** Plugins in config order, each with its raw options (validated here against its schema). */
  plugins?: ReadonlyArray<PluginDefinition | readonly [PluginDefinition, unknown]>
  /** Client: the server URL to connect to. */
  url?: string
  /** Milliseconds a peer has to complete the handshake (default 10 000). */
  handshakeTimeoutMs?: number
  /** Where relative paths in plugin options resolve from (the config file's folder; default '.'). */
  baseDir?: string
  logger?: Logger
  /**
   * Bytes that may wait to go to one session (socket buffer + what plugins report queued) before
   * the slow-consumer policy applies: a frame sent `{ volatile: true }` is dropped and counted; any
   * other frame closes the session with 4009 (reconnect may resume it). Default 8 MiB; 0: no budget.
   */
  outboundBudget?: number
  /** Validates plugin options (default: schema defaults and basic checks; @echostream/node passes ajv). */
  validator?: OptionsValidator
  /** Resolves `kernel.load('spec')` (default: none — pass a plugin object; @echostream/node resolves specifiers). */
  resolvePlugin?: (spec: string, baseDir: string) => Promise<PluginDefinition>
  /** Imports a module a plugin option names (`kernel.importModule`), from `baseDir` (@echostream/node provides it). */
  importModule?: (spec: string, baseDir: string) => Promise<Record<string, unknown>>
}

/** A frame handler registered by a plugin for one frame kind. */
export interface FrameRoute {
  /** `size`: bytes of the message that carried the frame; `arrivedAt`: `monotonicMicros()` stamped by the transport on arrival, before decoding. */
  handler(frame: Frame, session: Session, size: number, arrivedAt: number): void
  /** An `error` frame that answers a frame of this kind (its `re` field names the kind). */
  onError?(error: EchoError, id: number | undefined, session: Session): void
}

export interface LoadedPlugin {
  readonly name: string
  readonly version: string
  readonly provides: readonly string[]
  readonly options: Readonly<unknown>
}

export type EchoKernel = Kernel & KernelApi
/** What a plugin's `setup` gets: the kernel itself, with every plugin's API. */
export type PluginKernel = EchoKernel

export class Kernel {
  readonly role: Role
  readonly version = KERNEL_VERSION
  readonly baseDir: string
  /**
   * Where the kernel and plugins log: the application's logger (`options.logger`), or the one a
   * plugin installed with `useLogger` (observability's pino). `logger.forSession(session)` binds
   * `session` and `peer`.
   */
  readonly logger: KernelLogger
  /** Server: the URL clients connect to, once started. Client: the server's URL. */
  url: string | undefined
  codec: Codec | undefined
  transport: Transport | undefined
  /** Client: its one session (set by `start`). */
  session: Session | undefined
  /** Server-wide values beside `session.data` (typed by augmenting `AppData`). */
  readonly data: Store<AppData> = new Map() as unknown as Store<AppData>

  readonly #host: PluginHost
  readonly #pipeline: Pipeline
  readonly #handshake: ServerHandshake | ClientHandshake
  readonly #lifecycle: Lifecycle
  readonly #resolvePlugin: KernelOptions['resolvePlugin']
  readonly #importModule: KernelOptions['importModule']
  readonly #errorListeners = new Set<AppEvents['error']>()
  readonly #logs: LoggerSeam

  constructor(options: KernelOptions) {
    this.role = options.role
    this.url = options.url
    this.baseDir = options.baseDir ?? '.'
    this.#logs = new LoggerSeam(options.logger)
    this.logger = this.#logs.logger
    this.#resolvePlugin = options.resolvePlugin
    this.#importModule = options.importModule
    this.#host = new PluginHost(this, options.validator ?? basicValidator, this.#logs)
    this.#pipeline = new Pipeline(this, this.#host, options.outboundBudget ?? DEFAULT_OUTBOUND_BUDGET)
    const timeoutMs = options.handshakeTimeoutMs ?? 10_000
    this.#handshake = this.role === 'server' ? new ServerHandshake(this, this.#host, this.#pipeline, timeoutMs) : new ClientHandshake(this, this.#host, this.#pipeline, timeoutMs)
    this.#pipeline.handshake = this.#handshake
    this.#lifecycle = new Lifecycle(this, this.#host, this.#pipeline, this.#handshake)
    // Handler modules may export `defineListener(event, fn)`: the same as `on(event, fn)`.
    this.#host.registerHandlerKind(APP_OWNER, 'listener', (definition) => void this.on(definition.name as AppEvent, definition.handler as never))
  }

  /** This kernel, typed with every plugin's API. */
  get api(): EchoKernel {
    return this as unknown as EchoKernel
  }

  get hooks(): Hooks {
    return this.#host.hooks
  }

  get state(): KernelState {
    return this.#lifecycle.state
  }

  get outboundBudget(): number {
    return this.#pipeline.outboundBudget
  }

  /** Loaded plugins in setup order. */
  plugins(): LoadedPlugin[] {
    return this.#host.records.map(({ def, options }) => ({ name: def.name, version: def.version, provides: def.provides ?? [], options }))
  }

  /** Server: every open (or suspended) session. Client: its session when open or suspended. */
  sessions(): Session[] {
    if (!SERVER_BUILD || this.role === 'client') return this.session?.state === 'open' || this.session?.state === 'suspended' ? [this.session] : []
    return [...this.#pipeline.sessions.values()]
  }

  getSession(id: string): Session | undefined {
    return this.#pipeline.sessions.get(id)
  }

  /** Plugin name → wire version, for plugins that add frame kinds. */
  wirePlugins(): Record<string, number> {
    return this.#host.wirePlugins()
  }

  /** Counters for metrics: encodes, volatile drops, slow-consumer closes, oversize refusals, fan-out failures. */
  stats(): KernelStats {
    return { ...this.#pipeline.stats }
  }

  /** What this side's transport enforces (absent: no size limit, no pings). */
  transportLimits(): TransportLimits {
    try {
      const limits = this.transport?.limits?.()
      if (limits) return limits
    } catch (error) {
      this.reportError(error, 'the transport (limits)')
    }
    return { maxPayload: Number.MAX_SAFE_INTEGER }
  }

  // ---------------------------------------------------------------- plugins (registrations belong to the plugin being set up, else to the application)

  async install(entries: ReadonlyArray<PluginDefinition | readonly [PluginDefinition, unknown]>): Promise<void> {
    return this.#host.install(entries)
  }

  /** Loads a plugin at runtime (a definition, or a specifier when a resolver is configured); its `init` (and `start`) taps run now. */
  async load(plugin: string | PluginDefinition, options?: unknown): Promise<void> {
    if (typeof plugin === 'string') {
      if (!this.#resolvePlugin) throw kernelErrors.noResolver(plugin)
      plugin = await this.#resolvePlugin(plugin, this.baseDir)
    }
    return loadPlugin(this.#host, plugin, options)
  }

  /** Imports a module named in a plugin's options (a path from the config's folder, or a package); E_CONFIG where nothing can import by name (a browser). */
  async importModule(spec: string): Promise<Record<string, unknown>> {
    if (!this.#importModule) throw kernelErrors.noResolver(spec)
    return this.#importModule(spec, this.baseDir)
  }

  /** Unloads a plugin: its stop, destroy and dispose run, and none of its taps, routes or APIs remain. */
  async unload(name: string): Promise<void> {
    return unloadPlugin(this.#host, name)
  }

  registerHandlers(definitions: Iterable<unknown>, source = 'code'): number {
    return this.#host.registerHandlers(definitions, source)
  }

  /** Handles every inbound frame of `kind`. */
  route(kind: string, route: FrameRoute): void {
    this.#host.route(this.#host.currentOwner, kind, route)
  }

  /** Adds `kernel[name]` (typed via `KernelApi` augmentation); removed when its owner unloads. */
  expose<K extends keyof KernelApi & string>(name: K, api: KernelApi[K]): void {
    this.#host.expose(this.#host.currentOwner, name, api)
  }

  /** Adds a method or value to every session (typed via `Session` augmentation). */
  decorateSession(name: string, value: unknown): void {
    this.#host.decorateSession(this.#host.currentOwner, name, value)
  }

  /** Installs the kernel's single codec or transport. */
  provide(what: 'codec', codec: Codec): void
  provide(what: 'transport', transport: Transport): void
  provide(what: 'codec' | 'transport', impl: Codec | Transport): void {
    this.#host.provide(this.#host.currentOwner, what, impl)
  }

  /** Receives `defineRpc`/`defineEvent`… definitions of `kind` from handler modules. */
  registerHandlerKind(kind: string, register: (definition: HandlerDefinition) => void): void {
    this.#host.registerHandlerKind(this.#host.currentOwner, kind, register)
  }

  /** Runs when the owner is unloaded or the kernel stops (reverse order). */
  onDispose(dispose: Dispose): void {
    this.#host.onDispose(this.#host.currentOwner, dispose)
  }

  /** Reports bytes the caller holds queued for a session (they count against its outbound budget); returns the unregister function. */
  trackQueued(measure: Measure): () => void {
    return this.#host.trackQueued(this.#host.currentOwner, measure)
  }

  /** A `hello` field that carries credentials: `connect` taps read it, then the kernel removes it (never kept in `session.handshake`). */
  registerCredentials(field: string): void {
    this.#host.registerCredentials(this.#host.currentOwner, field)
  }

  /**
   * Makes `provider` the logger of the kernel and of every plugin (`kernel.logger`), e.g. a pino
   * logger; its `forSession(session)`, when present, gives the per-session loggers. The last one
   * installed wins; it is removed with its owner (or by the returned function).
   */
  useLogger(provider: LoggerProvider): () => void {
    return this.#logs.use(this.#host.currentOwner, provider)
  }

  /** Registrations owned by `owner` whenever they are made (what `setup` receives as its third argument). */
  scope(owner: string): PluginScope {
    return this.#host.scopeFor(owner)
  }

  // ---------------------------------------------------------------- lifecycle

  start(): Promise<void> {
    return this.#lifecycle.start()
  }

  drain(timeoutMs?: number): Promise<void> {
    return this.#lifecycle.drain(timeoutMs)
  }

  stop(): Promise<void> {
    return this.#lifecycle.stop()
  }

  /**
   * Subscribes the application to `start`, `listening`, `stop`, `connect`, `disconnect` or
   * `error`; listeners may be async. Returns the unsubscribe function. Application taps belong to
   * the application: unloading any plugin leaves them in place.
   */
  on<E extends AppEvent>(event: E, listener: AppEvents[E]): () => void {
    if (typeof listener !== 'function') throw kernelErrors.notAListener(event, listener)
    if (event === 'error') {
      const fn = listener as AppEvents['error']
      this.#errorListeners.add(fn)
      return () => void this.#errorListeners.delete(fn)
    }
    const hooks = this.#host.hooks as unknown as Record<string, { tap(o: object, f: unknown): void; tapPromise(o: object, f: unknown): void }>
    const options = { name: 'app', owner: APP_OWNER, stage: Stage.LAST }
    const call = listener as (...args: unknown[]) => unknown
    let hook: { taps: Array<{ fn: unknown }>; _resetCompilation(): void }
    let fn: (...args: never[]) => unknown
    switch (event) {
      case 'start':
      case 'stop':
      case 'connect':
        fn = async (...args: unknown[]) => call(...args)
        hooks[event].tapPromise(options, fn as never)
        hook = hooks[event] as never
        break
      case 'listening':
      case 'disconnect':
        fn = (...args: unknown[]) => this.#guard(() => call(...args), `a ${event} listener`, args[0] as Session | undefined)
        hooks[event].tap(options, fn as never)
        hook = hooks[event] as never
        break
      default:
        throw kernelErrors.unknownEvent(String(event))
    }
    return () => {
      hook.taps = hook.taps.filter((tap) => tap.fn !== fn)
      hook._resetCompilation()
    }
  }

  /** Runs a listener; what it throws or rejects with goes to `error` listeners (or the log), never unhandled. */
  #guard(run: () => unknown, source: string, session?: Session): void {
    try {
      Promise.resolve(run()).catch((error) => this.reportError(error, source, typeof session === 'object' ? session : undefined))
    } catch (error) {
      this.reportError(error, source, typeof session === 'object' ? session : undefined)
    }
  }

  /** An error no caller can receive: to the `error` listeners, or the log when there are none. Never throws. */
  reportError(error: unknown, source: string, session?: Session): void {
    const coded = EchoError.from(error)
    if (this.#errorListeners.size === 0) return this.logger.error(`${source} failed: ${coded.message}`)
    for (const listener of this.#errorListeners) {
      try {
        Promise.resolve(listener(coded, session ? { source, session } : { source })).catch((e) => this.logger.error(`an error listener failed: ${messageOf(e)}`))
      } catch (e) {
        this.logger.error(`an error listener failed: ${messageOf(e)}`)
      }
    }
  }

  // ---------------------------------------------------------------- sessions and frames (plumbing)

  /** `outbound` taps, one encode, `sent` taps, write; returns the encoded size (see `Session.send`). */
  sendFrame(session: SessionImpl, frame: Frame, options?: SendOptions): number {
    return this.#pipeline.send(session, frame, options)
  }

  /**
   * One frame to many sessions, encoded once (also with `outbound` taps, whenever a tap returns
   * the frame unchanged); each session isolated: returns `{ sent, dropped, failed, failures }`.
   */
  fanout(sessions: Iterable<Session>, frame: Frame, options?: SendOptions): FanoutReport {
    return fanout(this.#pipeline, sessions, frame, options)
  }

  /** `fanout(…).sent`. */
  sendMany(sessions: Iterable<Session>, frame: Frame, options?: SendOptions): number {
    return fanout(this.#pipeline, sessions, frame, options).sent
  }

  closeSession(session: SessionImpl, code: number, reason: string): void {
    this.#pipeline.closeSession(session, code, reason)
  }

  /**
   * Writes bytes that were encoded and offered to `sent` taps before: reconnect's replay after a
   * resume. No taps run again and no budget applies (the replay is bounded by reconnect's own
   * limits); nothing is written unless the session is open.
   */
  writeEncoded(session: Session, bytes: Uint8Array): void {
    const target = session as SessionImpl
    if (target.state === 'open') target.connection.send(bytes)
  }

  /** Bytes waiting to go to `session`: its socket's buffer plus what plugins report queued. */
  outboundBytes(session: SessionImpl): number {
    return this.#pipeline.outboundBytes(session)
  }

  /** Client: the resume primitive — redo the handshake of the `suspended` session on a new connection; resolves `{ recovered }`. */
  reattach(): Promise<{ recovered: boolean }> {
    if (SERVER_BUILD && this.role !== 'client') return Promise.reject(kernelErrors.notSuspended(this.role, 'on a server'))
    return (this.#handshake as ClientHandshake).reattach()
  }

  /** The former name of `reattach`. */
  reconnectSession(): Promise<{ recovered: boolean }> {
    return this.reattach()
  }
}

/** Creates a kernel with its plugins set up and `init` run; call `start()` next. */
export async function createKernel(options: KernelOptions): Promise<EchoKernel> {
  const kernel = new Kernel(options)
  try {
    await kernel.install(options.plugins ?? [])
  } catch (error) {
    await kernel.stop().catch(() => {})
    throw error
  }
  return kernel as EchoKernel
}
