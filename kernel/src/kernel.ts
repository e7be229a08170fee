/**
 * The microkernel: hook buses, the frame pipeline, sessions and the handshake, plugin loading and
 * unloading. Everything else — transport, codec, rpc, events… — is a plugin.
 */
import { randomBytes } from 'node:crypto'
import { EchoError, ErrorCodes, messageOf } from './errors.js'
import { describe } from './describe.js'
import { monotonicMicros } from './clock.js'
import { kernelErrors } from './kernel-errors.js'
import { CloseCodes, KernelFrames, PROTOCOL_VERSION, isFrame, type Frame, type HelloPayload, type WelcomeLimits, type WelcomePayload } from './frame.js'
import { createHook, createHooks, type HookName, type Hooks } from './hooks.js'
import { checkKernelRange, checkRole, KERNEL_VERSION, orderPlugins } from './loader/order.js'
import { validateOptions } from './loader/options.js'
import { SessionImpl, type CloseInfo, type SendOptions, type Session, type SessionHost } from './session.js'
import type { Dispose, PluginDefinition, Role } from './plugin.js'
import type { Codec, Connection, Transport, TransportLimits } from './transport.js'
import { isHandlerDefinition, type HandlerDefinition } from './handlers.js'
import { callTap, createRecordingHooks, type TapRecord } from './tap-records.js'
import { loadPlugin } from './config.js'

/** Plugins add their APIs here by module augmentation: `declare module '@echostream/kernel' { interface KernelApi { rpc: RpcApi } }`. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface KernelApi {}

export interface Logger {
  info(message: string): void
  warn(message: string): void
  error(message: string): void
}

const silentLogger: Logger = { info() {}, warn() {}, error() {} }

export interface KernelOptions {
  role: Role
  /** Plugins in config order, each with its raw options (validated here against its schema). */
  plugins?: ReadonlyArray<PluginDefinition | readonly [PluginDefinition, unknown]>
  /** Client: the server URL to connect to. */
  url?: string
  /** Milliseconds a peer has to complete the handshake (default 10 000). */
  handshakeTimeoutMs?: number
  /** Where relative specifiers given to `kernel.load` resolve from (default: the current directory). */
  baseDir?: string
  logger?: Logger
  /**
   * Bytes that may wait to go to one session (socket buffer + what plugins report queued) before
   * the slow-consumer policy applies: a frame sent with `{ volatile: true }` is dropped and
   * counted; any other frame closes the session with 4009 (reconnect may resume it). Default
   * 8 MiB; 0 disables the budget.
   */
  outboundBudget?: number
}

/** The default outbound budget per session: 8 MiB (8× ws's default high-water mark of 1 MiB). */
export const DEFAULT_OUTBOUND_BUDGET = 8 * 1024 * 1024

/** Counters for metrics (monotonic since the kernel was created). */
export interface KernelStats {
  /** Frames encoded by the kernel (a broadcast counts one when every session gets the same bytes). */
  encodes: number
  /** Volatile frames dropped because their session was over its outbound budget. */
  volatileDropped: number
  /** Sessions closed with 4009 (slow consumer). */
  slowConsumerCloses: number
  /** Sends refused because the frame exceeded the peer's maxPayload. */
  tooLarge: number
  /** Per-session failures inside `sendMany`/`fanout` (the others still got the frame). */
  fanoutFailures: number
}

/** What `fanout` did: the others still got the frame when one session failed. */
export interface FanoutReport {
  /** Sessions the frame was sent to (written, or recorded for a suspended session). */
  sent: number
  /** Sessions for which a tap or the budget dropped it (volatile). */
  dropped: number
  /** Sessions for which sending failed (oversize for that peer, a tap threw…). */
  failed: number
  /** The first failures (at most 16), with their errors. */
  failures: Array<{ session: Session; error: EchoError }>
}

export type KernelState = 'idle' | 'starting' | 'started' | 'stopping' | 'stopped'

/** A frame handler registered by a plugin for one frame kind. */
export interface FrameRoute {
  /**
   * `size`: byte length of the message that carried the frame; `arrivedAt`: when it arrived
   * (`monotonicMicros()`, stamped by the transport before decoding).
   */
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

interface PluginRecord {
  def: PluginDefinition
  options: Readonly<unknown>
  disposers: Dispose[]
  exposed: string[]
  routes: string[]
  decorations: string[]
  provided: Array<'codec' | 'transport'>
  handlerKinds: string[]
}

/** What a plugin's `setup` receives: the kernel plus the registration methods recorded per plugin. */
export interface PluginScope {
  /** The plugin being set up. */
  readonly plugin: PluginDefinition
  /** Adds `kernel[name]` (typed via `KernelApi` augmentation); removed when the plugin unloads. */
  expose<K extends keyof KernelApi & string>(name: K, api: KernelApi[K]): void
  /** Handles every inbound frame of `kind`. */
  route(kind: string, route: FrameRoute): void
  /** Adds a method or value to every session (typed via `Session` augmentation). */
  decorateSession(name: string, value: unknown): void
  /**
   * Reports bytes this plugin holds queued for a session (not yet handed to the socket); they count
   * against the session's outbound budget. Returns the unregister function.
   */
  trackQueued(measure: (session: Session) => number): () => void
  /** Installs the kernel's single codec or transport. */
  provide(what: 'codec', codec: Codec): void
  provide(what: 'transport', transport: Transport): void
  /** Receives `defineRpc`/`defineEvent`… definitions of `kind` from handler modules. */
  registerHandlerKind(kind: string, register: (definition: HandlerDefinition) => void): void
  /** Runs when the plugin is unloaded or the kernel stops (reverse order). */
  onDispose(dispose: Dispose): void
}

export type PluginKernel = EchoKernel & PluginScope
export type EchoKernel = Kernel & KernelApi

function newSessionId(): string {
  return randomBytes(12).toString('base64url')
}

/** Stops a session's handshake deadline and drops the Timeout (and its closure), which would otherwise live as long as the session. */
function clearHandshakeTimer(session: SessionImpl): void {
  clearTimeout(session.handshakeTimer)
  session.handshakeTimer = undefined
}

/**
 * WebSocket close reasons are limited to 123 bytes (ws throws beyond, and the peer then sees 1006).
 * Cut at a character boundary: a split UTF-8 sequence would decode to a longer U+FFFD.
 */
const utf8 = new TextEncoder()

function closeReason(text: string): string {
  if (text.length <= 41 || utf8.encode(text).byteLength <= 123) return text
  let out = ''
  let bytes = 0
  for (const char of text) {
    bytes += utf8.encode(char).byteLength
    if (bytes > 120) break
    out += char
  }
  return out + '...'
}

/** A frame's kind for a message, whatever a plugin put there. */
function describeKind(frame: Frame): string {
  return typeof frame?.kind === 'string' ? frame.kind.slice(0, 100) : describe(frame?.kind)
}

export class Kernel implements SessionHost {
  readonly role: Role
  readonly version = KERNEL_VERSION
  readonly baseDir: string
  readonly logger: Logger
  /** Server: the URL clients connect to, once started. Client: the server's URL. */
  url: string | undefined
  codec: Codec | undefined
  transport: Transport | undefined
  /** Client: its one session (set by `start`). */
  session: Session | undefined

  #hooks: Hooks = createHooks()
  #state: KernelState = 'idle'
  #records: PluginRecord[] = []
  #taps: TapRecord[] = []
  #routes = new Map<string, FrameRoute>()
  /** The kind of the last routed frame and its route (see #receive); cleared when routes change. */
  #lastKind: string | undefined
  #lastRoute: FrameRoute | undefined
  #handlerKinds = new Map<string, (definition: HandlerDefinition) => void>()
  #sessions = new Map<string, SessionImpl>()
  #handshakeTimeoutMs: number
  #SessionClass: typeof SessionImpl = class extends SessionImpl {}
  #welcomeWaiter: { resolve(recovered?: boolean): void; reject(error: EchoError): void } | undefined
  #draining = false
  readonly outboundBudget: number
  #queueMeters: Array<(session: Session) => number> = []
  #stats: KernelStats = { encodes: 0, volatileDropped: 0, slowConsumerCloses: 0, tooLarge: 0, fanoutFailures: 0 }

  constructor(options: KernelOptions) {
    this.role = options.role
    this.url = options.url
    this.baseDir = options.baseDir ?? process.cwd()
    this.logger = options.logger ?? silentLogger
    this.#handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000
    this.outboundBudget = options.outboundBudget ?? DEFAULT_OUTBOUND_BUDGET
  }

  /** Counters for metrics: encodes, volatile drops, slow-consumer closes, oversize refusals, fan-out failures. */
  stats(): KernelStats {
    return { ...this.#stats }
  }

  /** What this side's transport enforces (absent: no size limit, no pings). */
  #limits(): TransportLimits {
    let limits: TransportLimits | undefined
    try {
      limits = this.transport?.limits?.()
    } catch (error) {
      this.logger.error(`transport limits(): ${messageOf(error)}`)
    }
    return limits ?? { maxPayload: Number.MAX_SAFE_INTEGER }
  }

  /** This kernel, typed with every plugin's API (what sessions hand to handlers). */
  get api(): EchoKernel {
    return this as unknown as EchoKernel
  }

  get hooks(): Hooks {
    return this.#hooks
  }

  get state(): KernelState {
    return this.#state
  }

  /** Loaded plugins in setup order. */
  plugins(): LoadedPlugin[] {
    return this.#records.map(({ def, options }) => ({ name: def.name, version: def.version, provides: def.provides ?? [], options }))
  }

  /** Server: every open (or suspended, awaiting a resume) session. Client: its session when open or suspended. */
  sessions(): Session[] {
    if (this.role === 'client') return this.session?.state === 'open' || this.session?.state === 'suspended' ? [this.session] : []
    return [...this.#sessions.values()]
  }

  getSession(id: string): Session | undefined {
    return this.#sessions.get(id)
  }

  /** Plugin name → wire version, for plugins that add frame kinds. */
  wirePlugins(): Record<string, number> {
    const wire: Record<string, number> = {}
    for (const { def } of this.#records) if (def.wire !== undefined) wire[def.name] = def.wire
    return wire
  }

  // ---------------------------------------------------------------- plugins

  /** Sets up plugins (validated and ordered) and runs `init` for them. Used at creation and by `load`. */
  async install(entries: ReadonlyArray<PluginDefinition | readonly [PluginDefinition, unknown]>): Promise<void> {
    const withOptions = entries.map((e) => (Array.isArray(e) ? e : [e, undefined]) as readonly [PluginDefinition, unknown])
    const defs = withOptions.map(([def]) => def)
    for (const def of defs) {
      checkKernelRange(def)
      checkRole(def, this.role)
    }
    const ordered = orderPlugins(defs, this.#records.map((r) => r.def))
    const validated = new Map<PluginDefinition, Readonly<unknown>>(withOptions.map(([def, raw]) => [def, validateOptions(def.schema, raw, `plugin '${def.name}'`, `options['${def.name}']`)]))
    const added: PluginRecord[] = []
    for (const def of ordered) {
      const record: PluginRecord = { def, options: validated.get(def) as Readonly<unknown>, disposers: [], exposed: [], routes: [], decorations: [], provided: [], handlerKinds: [] }
      this.#records.push(record)
      added.push(record)
      try {
        const dispose = await def.setup(this.#scopeFor(record), record.options as never)
        if (typeof dispose === 'function') record.disposers.push(dispose)
      } catch (error) {
        throw EchoError.is(error) ? error : new EchoError(ErrorCodes.E_PLUGIN, `Plugin '${def.name}' failed in setup: ${messageOf(error)}`, { cause: error })
      }
    }
    await this.#runTapsOf(added, 'init')
    if (this.#state === 'started') await this.#runTapsOf(added, 'start')
  }

  /**
   * Loads one more plugin at runtime: a definition, or a specifier resolved from `baseDir` (the
   * config file's folder). Its `init` (and `start`, when the kernel runs) taps run now.
   */
  async load(plugin: string | PluginDefinition, options?: unknown): Promise<void> {
    const definition = await loadPlugin(plugin, this.baseDir)
    const before = new Set(this.#records)
    try {
      await this.install([[definition, options]])
    } catch (error) {
      // A plugin that failed half-way (setup, init or start threw) leaves nothing behind.
      for (const record of this.#records.filter((r) => !before.has(r)).reverse()) await this.#remove(record).catch(() => {})
      throw error
    }
  }

  /** Unloads a plugin: its stop, destroy and dispose run, and none of its taps, routes or APIs remain. */
  async unload(name: string): Promise<void> {
    const record = this.#records.find((r) => r.def.name === name)
    if (!record) throw new EchoError(ErrorCodes.E_PLUGIN, `Cannot unload '${name}': no plugin of that name is loaded (loaded: ${this.#records.map((r) => r.def.name).join(', ')}).`)
    const others = this.#records.filter((r) => r !== record)
    for (const cap of record.def.provides ?? []) {
      if (others.some((r) => r.def.provides?.includes(cap))) continue
      const dependents = others.filter((r) => r.def.requires?.includes(cap)).map((r) => r.def.name)
      if (dependents.length) {
        throw new EchoError(ErrorCodes.E_PLUGIN, `Cannot unload '${name}': ${dependents.join(', ')} require its capability '${cap}'; unload them first.`)
      }
    }
    await this.#remove(record)
  }

  /** Takes one plugin out: its own stop and destroy taps run (as `load` ran its init and start), then its disposers. */
  async #remove(record: PluginRecord): Promise<void> {
    for (const hook of ['stop', 'destroy'] as const) {
      for (const tap of this.#taps.filter((t) => t.plugin === record.def.name && t.hook === hook).reverse()) {
        await callTap(tap).catch((error) => this.logger.error(`plugin '${record.def.name}': ${hook} failed while unloading: ${messageOf(error)}`))
      }
    }
    this.#records = this.#records.filter((r) => r !== record)
    await this.#disposeRecord(record)
  }

  /**
   * Runs a plugin's disposers. Unloading also removes everything it registered; a stopped kernel
   * keeps the APIs and session methods, so late calls get a coded error (E_CLOSED…) instead of a TypeError.
   */
  async #disposeRecord(record: PluginRecord, unloading = true): Promise<void> {
    const errors: unknown[] = []
    for (const dispose of [...record.disposers].reverse()) {
      try {
        await dispose()
      } catch (error) {
        errors.push(error)
      }
    }
    const name = record.def.name
    if (!unloading) {
      if (errors.length) throw new EchoError(ErrorCodes.E_PLUGIN, `Plugin '${name}' failed while disposing: ${errors.map((e) => messageOf(e)).join('; ')}`, { cause: errors[0] })
      return
    }
    const affected = new Set(this.#taps.filter((t) => t.plugin === name).map((t) => t.hook))
    this.#taps = this.#taps.filter((t) => t.plugin !== name)
    if (affected.size) this.#rebuildHooks(affected)
    for (const key of record.exposed) delete (this as Record<string, unknown>)[key]
    for (const kind of record.routes) this.#routes.delete(kind)
    this.#lastKind = this.#lastRoute = undefined
    for (const key of record.decorations) delete (this.#SessionClass.prototype as unknown as Record<string, unknown>)[key]
    for (const kind of record.handlerKinds) this.#handlerKinds.delete(kind)
    for (const what of record.provided) this[what] = undefined
    if (errors.length) throw new EchoError(ErrorCodes.E_PLUGIN, `Plugin '${name}' failed while disposing: ${errors.map((e) => messageOf(e)).join('; ')}`, { cause: errors[0] })
  }

  /** tapable cannot drop a tap: build fresh hooks from the remaining records. */
  #rebuildHooks(names: Set<HookName>): void {
    const next: Record<string, unknown> = { ...this.#hooks }
    for (const name of names) {
      const hook = createHook(name) as unknown as Record<string, (o: unknown, f: unknown) => void>
      for (const t of this.#taps) if (t.hook === name) hook[t.method]!(t.options, t.fn)
      next[name] = hook
    }
    this.#hooks = Object.freeze(next) as unknown as Hooks
  }

  #scopeFor(record: PluginRecord): PluginKernel {
    const kernel = this
    const name = record.def.name
    const scope: PluginScope & { hooks: Hooks } = {
      plugin: record.def,
      hooks: createRecordingHooks(
        () => this.#hooks,
        (tap) => {
          this.#taps.push({ ...tap, plugin: name })
          ;(this.#hooks[tap.hook] as unknown as Record<string, (o: unknown, f: unknown) => void>)[tap.method]!(tap.options, tap.fn)
        },
      ),
      expose(key, api) {
        if (key in kernel) throw new EchoError(ErrorCodes.E_PLUGIN, `Plugin '${name}' exposes '${key}', which the kernel or another plugin already has: rename it.`)
        Object.defineProperty(kernel, key, { value: api, configurable: true, enumerable: true, writable: false })
        record.exposed.push(key)
      },
      route(kind, route) {
        if (kernel.#routes.has(kind) || kind === KernelFrames.error || kind === KernelFrames.hello || kind === KernelFrames.welcome) {
          throw new EchoError(ErrorCodes.E_PLUGIN, `Plugin '${name}' routes frame kind '${kind}', which is already taken: prefix your kinds with your plugin name.`)
        }
        kernel.#routes.set(kind, route)
        kernel.#lastKind = kernel.#lastRoute = undefined
        record.routes.push(kind)
      },
      decorateSession(key, value) {
        const proto = kernel.#SessionClass.prototype as unknown as Record<string, unknown>
        if (key in proto) throw new EchoError(ErrorCodes.E_PLUGIN, `Plugin '${name}' decorates sessions with '${key}', which already exists: rename it.`)
        Object.defineProperty(proto, key, { value, configurable: true, writable: true })
        record.decorations.push(key)
      },
      provide(what: 'codec' | 'transport', impl: Codec | Transport) {
        ;(kernel as Record<string, unknown>)[what] = impl
        record.provided.push(what)
      },
      registerHandlerKind(kind, register) {
        kernel.#handlerKinds.set(kind, register)
        record.handlerKinds.push(kind)
      },
      onDispose(dispose) {
        record.disposers.push(dispose)
      },
      trackQueued(measure) {
        kernel.#queueMeters.push(measure)
        const remove = () => {
          kernel.#queueMeters = kernel.#queueMeters.filter((m) => m !== measure)
        }
        record.disposers.push(remove)
        return remove
      },
    }
    // Methods are bound once per scope so a plugin's `this`-free calls still reach the kernel.
    const bound = new Map<PropertyKey, unknown>()
    return new Proxy(this, {
      get(target, prop) {
        if (prop in scope) return (scope as unknown as Record<PropertyKey, unknown>)[prop]
        const value = Reflect.get(target, prop, target)
        if (typeof value !== 'function' || prop === 'constructor') return value
        let fn = bound.get(prop)
        if (!fn) bound.set(prop, (fn = (value as (...a: unknown[]) => unknown).bind(target)))
        return fn
      },
      set(target, prop, value) {
        return Reflect.set(target, prop, value, target)
      },
    }) as unknown as PluginKernel
  }

  /** Registers `defineRpc`/`defineEvent`… definitions with the plugins that handle their kinds. */
  registerHandlers(definitions: Iterable<unknown>, source = 'code'): number {
    let count = 0
    for (const definition of definitions) {
      if (!isHandlerDefinition(definition)) continue
      const register = this.#handlerKinds.get(definition.kind)
      if (!register) {
        throw new EchoError(ErrorCodes.E_CONFIG, `${source} defines a ${definition.kind} handler '${definition.name}', but no loaded plugin handles '${definition.kind}' handlers: add @echostream/plugin-${definition.kind === 'event' ? 'events' : definition.kind} to your config.`)
      }
      register(definition)
      count++
    }
    return count
  }

  // ---------------------------------------------------------------- lifecycle

  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new EchoError(ErrorCodes.E_STATE, `Cannot start a kernel that is ${this.#state}: create a new one.`)
    this.#state = 'starting'
    try {
      const transport = this.transport
      if (!transport || !this.codec) {
        throw new EchoError(ErrorCodes.E_PLUGIN, `Cannot start: no ${transport ? 'codec' : 'transport'} is loaded. Add ${transport ? '@echostream/plugin-codec-msgpack' : '@echostream/plugin-transport-ws'} or a preset such as @echostream/preset-default.`)
      }
      await this.#hooks.start.promise()
      if (this.role === 'server') {
        this.url = await transport.listen((connection) => this.#accept(connection))
        this.#hooks.listening.call(this.url)
      } else await this.#connect(transport)
      this.#state = 'started'
    } catch (error) {
      // A failed start still releases everything: stop/destroy run in reverse order.
      await this.#shutdown().catch((e) => this.logger.error(`stop after failed start: ${messageOf(e)}`))
      throw error
    }
  }

  /**
   * Graceful drain before `stop`: refuses new connections and gives `drain` taps (in-flight RPCs…)
   * until `timeoutMs` to finish. Resolves at the deadline at the latest.
   */
  async drain(timeoutMs = 10_000): Promise<void> {
    if (this.#state !== 'started') return
    this.#draining = true
    let timer: ReturnType<typeof setTimeout> | undefined
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))
    try {
      await Promise.race([this.#hooks.drain.promise(Date.now() + timeoutMs), deadline])
    } catch (error) {
      this.logger.error(`drain: ${messageOf(error)}`)
    } finally {
      clearTimeout(timer)
    }
  }

  /** Closes every session and socket, runs `stop` then `destroy` in reverse plugin order, then disposes plugins. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'stopping') return
    await this.#shutdown()
  }

  async #shutdown(): Promise<void> {
    this.#state = 'stopping'
    const errors: unknown[] = []
    errors.push(...(await this.#runTapsReversed('stop')))
    try {
      if (this.role === 'server') await this.transport?.close()
    } catch (error) {
      errors.push(error)
    }
    // A client's stop is a deliberate end (1000: the server ends the session at once, never keeps it
    // for a resume); a server's is 1001 (going away: clients may reconnect elsewhere).
    const going = this.role === 'server' ? { code: CloseCodes.goingAway, reason: 'server stopping' } : { code: CloseCodes.normal, reason: 'client stopping' }
    for (const session of this.#sessions.values()) this.closeSession(session, going.code, going.reason)
    if (this.session) this.closeSession(this.session as SessionImpl, going.code, going.reason)
    this.#welcomeWaiter?.reject(new EchoError(ErrorCodes.E_CLOSED, 'The kernel stopped during the handshake.'))
    errors.push(...(await this.#runTapsReversed('destroy')))
    for (const record of [...this.#records].reverse()) {
      try {
        await this.#disposeRecord(record, false)
      } catch (error) {
        errors.push(error)
      }
    }
    this.#records = []
    this.#state = 'stopped'
    if (errors.length) {
      for (const e of errors) this.logger.error(`stop: ${messageOf(e)}`)
      throw EchoError.is(errors[0]) ? errors[0] : new EchoError(ErrorCodes.E_PLUGIN, `Stopping failed: ${messageOf(errors[0])}`, { cause: errors[0] })
    }
  }

  /** Runs every tap of a lifecycle hook in reverse order; each runs even if an earlier one failed. */
  async #runTapsReversed(name: 'stop' | 'destroy'): Promise<unknown[]> {
    const errors: unknown[] = []
    for (const tap of [...this.#hooks[name].taps].reverse()) {
      try {
        await callTap(tap)
      } catch (error) {
        errors.push(error)
      }
    }
    return errors
  }

  async #runTapsOf(records: PluginRecord[], name: 'init' | 'start'): Promise<void> {
    const plugins = new Set(records.map((r) => r.def.name))
    for (const tap of this.#taps) if (tap.hook === name && plugins.has(tap.plugin)) await callTap(tap)
  }

  // ---------------------------------------------------------------- sessions and frames

  /**
   * Sends one frame: `outbound` taps, one encode, then `#deliver`. Returns the encoded byte length
   * (0 when a tap or the budget dropped it). Throws E_PAYLOAD_TOO_LARGE above the peer's
   * maxPayload, E_CODEC when the frame cannot be encoded, and what an outbound or sent tap threw.
   */
  sendFrame(session: SessionImpl, frame: Frame, options?: SendOptions): number {
    let out: Frame | null = frame
    const outbound = this.#hooks.outbound
    if (outbound.taps.length > 0) {
      try {
        out = outbound.call(frame, session)
      } catch (error) {
        throw EchoError.from(error)
      }
      if (!out) return 0
    }
    return this.#deliver(session, this.#encode(out), out, options?.volatile === true)
  }

  /**
   * The bytes of one frame to one session: refused above the peer's maxPayload (before anything
   * records them); offered to `sent` taps; recorded but not written while suspended; over the
   * outbound budget a volatile frame is dropped and anything else closes the session with 4009.
   */
  #deliver(session: SessionImpl, bytes: Uint8Array, frame: Frame, volatile: boolean): number {
    const size = bytes.byteLength
    if (size > session.peerMaxPayload) {
      this.#stats.tooLarge++
      throw kernelErrors.payloadTooLarge(frame.kind, size, session.peerMaxPayload)
    }
    const budget = this.outboundBudget
    let over = 0
    if (budget > 0 && session.state !== 'suspended') {
      const pending = this.outboundBytes(session) + size
      if (pending > budget) {
        if (volatile) {
          this.#stats.volatileDropped++
          return 0
        }
        over = pending
      }
    }
    const sent = this.#hooks.sent
    if (sent.taps.length > 0) {
      try {
        sent.call(bytes, frame, session)
      } catch (error) {
        throw EchoError.from(error)
      }
    }
    if (over > 0) {
      // Recorded by `sent` taps (reconnect replays it after a resume), not written: the peer is too slow.
      this.#stats.slowConsumerCloses++
      this.#closeLost(session, CloseCodes.slowConsumer, kernelErrors.slowConsumer(over, budget).message)
      return size
    }
    if (session.state !== 'suspended') session.connection.send(bytes)
    return size
  }

  /** Bytes waiting to go to `session`: its socket's buffer plus what plugins report queued. */
  outboundBytes(session: SessionImpl): number {
    let total = session.connection.bufferedAmount
    for (const measure of this.#queueMeters) {
      try {
        const queued = measure(session)
        if (queued > 0) total += queued
      } catch (error) {
        this.logger.error(`a queue meter failed: ${messageOf(error)}`)
      }
    }
    return total
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

  /** Handshake frames bypass the pipeline: they are not application traffic and must go out as they are. */
  #writeRaw(session: SessionImpl, frame: Frame): void {
    session.connection.send(this.#encode(frame))
  }

  /**
   * Sends one frame to many sessions (broadcasts, rooms). Encoded once: every session whose
   * `outbound` taps return the frame unchanged gets the same bytes (a tap that returns a new frame
   * costs one more encode, for that session). Sessions are isolated: one session's failure (over
   * its peer's maxPayload, a tap that threw) is counted and reported, and the others still get it.
   * Throws only when the frame itself cannot be encoded.
   */
  fanout(sessions: Iterable<Session>, frame: Frame, options?: SendOptions): FanoutReport {
    const report: FanoutReport = { sent: 0, dropped: 0, failed: 0, failures: [] }
    const volatile = options?.volatile === true
    const outbound = this.#hooks.outbound
    const tapped = outbound.taps.length > 0
    let shared: Uint8Array | undefined
    for (const item of sessions) {
      const session = item as SessionImpl
      if (session.state !== 'open' && session.state !== 'suspended') continue
      try {
        let out: Frame | null = frame
        if (tapped) out = outbound.call(frame, session)
        if (!out) {
          report.dropped++
          continue
        }
        let bytes: Uint8Array
        if (out !== frame) bytes = this.#encode(out)
        else if (shared !== undefined) bytes = shared
        else {
          try {
            bytes = shared = this.#encode(frame)
          } catch (error) {
            // The frame itself is bad: the broadcaster's error, not this session's.
            ;(report as { fatal?: unknown }).fatal = error
            break
          }
        }
        if (this.#deliver(session, bytes, out, volatile) > 0) report.sent++
        else report.dropped++
      } catch (error) {
        report.failed++
        this.#stats.fanoutFailures++
        if (report.failures.length < 16) report.failures.push({ session, error: EchoError.from(error) })
      }
    }
    const fatal = (report as { fatal?: unknown }).fatal
    if (fatal !== undefined) throw fatal
    return report
  }

  /** `fanout`, returning how many sessions the frame reached. */
  sendMany(sessions: Iterable<Session>, frame: Frame, options?: SendOptions): number {
    return this.fanout(sessions, frame, options).sent
  }

  #encode(frame: Frame): Uint8Array {
    const codec = this.codec
    if (!codec) throw kernelErrors.noCodec()
    this.#stats.encodes++
    try {
      return codec.encode(frame)
    } catch (error) {
      if (EchoError.is(error) && error.code === ErrorCodes.E_CODEC) throw error
      throw new EchoError(ErrorCodes.E_CODEC, kernelErrors.unencodable(describeKind(frame), messageOf(error)).message, { cause: error })
    }
  }

  /** Ends a session from this side for a reason a peer may recover from (slow consumer): `suspend` taps may keep it for a resume. */
  #closeLost(session: SessionImpl, code: number, reason: string): void {
    if (session.state === 'closed') return
    session.connection.close(code, closeReason(reason))
    this.#finalize(session, { code, reason }, true)
  }

  closeSession(session: SessionImpl, code: number, reason: string): void {
    if (session.state === 'closed') return
    session.connection.close(code, closeReason(reason))
    this.#finalize(session, { code, reason }, false)
  }

  /**
   * The connection is gone. A lost (not deliberately closed) connection of an open session may be
   * kept `suspended` by a `suspend` tap; otherwise the session ends and, if it had connected,
   * `disconnect` runs.
   */
  #finalize(session: SessionImpl, info: CloseInfo, lost: boolean): void {
    if (session.state === 'closed') return
    if (lost && session.state === 'suspended') {
      // A replacement connection failed during its handshake: stay suspended, the reconnect driver retries.
      clearHandshakeTimer(session)
      if (session.awaitingWelcome) {
        session.awaitingWelcome = false
        this.#welcomeWaiter?.reject(new EchoError(ErrorCodes.E_CLOSED, `The server closed the connection during the reconnect handshake (${info.code}${info.reason ? `: ${info.reason}` : ''}).`, { retryable: true }))
      }
      return
    }
    // 1000 is a deliberate end by either side: never suspended (PROTOCOL.md, close codes).
    if (lost && info.code !== CloseCodes.normal && session.state === 'open' && this.#state === 'started' && this.#suspends(session, info)) {
      session.state = 'suspended'
      session.closeInfo = info
      return
    }
    const wasOpen = session.state === 'open' || session.state === 'suspended'
    session.state = 'closed'
    session.closeInfo = info
    clearHandshakeTimer(session)
    if (this.#sessions.get(session.id) === session) this.#sessions.delete(session.id)
    if (this.role === 'client' && !wasOpen) {
      this.#welcomeWaiter?.reject(new EchoError(ErrorCodes.E_CLOSED, `The server closed the connection during the handshake (${info.code}${info.reason ? `: ${info.reason}` : ''}).`))
    }
    if (!wasOpen) return
    this.#notifyDisconnect(session, info)
  }

  #suspends(session: SessionImpl, info: CloseInfo): boolean {
    try {
      return this.#hooks.suspend.call(session, info) === true
    } catch (error) {
      this.logger.error(`suspend hook failed: ${messageOf(error)}`)
      return false
    }
  }

  /** Runs `disconnect` taps; a tap that throws is logged, never thrown into the caller. */
  #notifyDisconnect(session: SessionImpl, info: CloseInfo): void {
    try {
      this.#hooks.disconnect.call(session, info)
    } catch (error) {
      this.logger.error(`disconnect hook failed: ${messageOf(error)}`)
    }
  }

  /** Runs `protocolError` taps (logging, metrics); never throws. */
  #notifyProtocolError(error: EchoError, session: SessionImpl | undefined): void {
    try {
      this.#hooks.protocolError.call(error, session)
    } catch (failure) {
      this.logger.error(`protocolError hook failed: ${messageOf(failure)}`)
    }
  }

  #attach(connection: Connection): SessionImpl {
    const session = new this.#SessionClass(this, connection)
    this.#bind(session, connection)
    return session
  }

  /** Routes a connection's events to a session; events of a connection the session has replaced are ignored. */
  #bind(session: SessionImpl, connection: Connection): void {
    session.connection = connection
    connection.onMessage = (bytes, arrivedAt) => {
      if (session.connection !== connection) return
      // Last line of defence: a plugin bug triggered by a peer's frame must not throw into the
      // transport's event handler, where it would crash the process.
      try {
        this.#receive(session, bytes, arrivedAt === undefined ? monotonicMicros() : arrivedAt)
      } catch (error) {
        this.logger.error(`handling a frame from ${session.peer} failed: ${messageOf(error)}`)
      }
    }
    connection.onClose = (code, reason) => {
      if (session.connection !== connection) return
      try {
        this.#finalize(session, { code, reason }, true)
      } catch (error) {
        this.logger.error(`closing the session of ${session.peer} failed: ${messageOf(error)}`)
      }
    }
  }

  #accept(connection: Connection): void {
    if (this.#draining) return connection.close(CloseCodes.goingAway, 'server draining: reconnect to another instance')
    const session = this.#attach(connection)
    session.handshakeTimer = setTimeout(() => {
      this.#refuse(session, new EchoError(ErrorCodes.E_PROTOCOL, `No 'hello' within ${this.#handshakeTimeoutMs} ms: send the handshake first (PROTOCOL.md).`), CloseCodes.handshakeTimeout)
    }, this.#handshakeTimeoutMs)
  }

  async #connect(transport: Transport): Promise<void> {
    if (!this.url) throw new EchoError(ErrorCodes.E_CONFIG, 'The client has no server URL: set `url` in its config (or load a discovery plugin).')
    let connection: Connection
    try {
      connection = await transport.connect(this.url)
    } catch (error) {
      throw EchoError.is(error) ? error : new EchoError(ErrorCodes.E_CLOSED, `Cannot connect to ${this.url}: ${messageOf(error)}. Is the server running?`, { cause: error, retryable: true })
    }
    const session = this.#attach(connection)
    this.session = session
    const welcomed = new Promise<void>((resolve, reject) => {
      this.#welcomeWaiter = { resolve: () => resolve(), reject }
    })
    session.handshakeTimer = setTimeout(() => {
      this.#welcomeWaiter?.reject(new EchoError(ErrorCodes.E_TIMEOUT, `No answer to the handshake from ${this.url} within ${this.#handshakeTimeoutMs} ms.`, { retryable: true }))
      this.closeSession(session, CloseCodes.handshakeTimeout, 'handshake timeout')
    }, this.#handshakeTimeoutMs)
    this.#writeRaw(session, { kind: KernelFrames.hello, payload: this.#helloPayload() })
    try {
      await welcomed
    } finally {
      this.#welcomeWaiter = undefined
    }
  }

  /**
   * Client: opens a new connection for a `suspended` session and redoes the handshake (the `hello`
   * taps add what a resume needs). Resolves `recovered: true` when the server re-attached the
   * session; `false` when it started a new one (then `disconnect` ran for the old one and
   * `connect` for the new, on the same Session object). Rejects (session still suspended) when the
   * server cannot be reached or refuses; the caller retries.
   */
  async reconnectSession(): Promise<{ recovered: boolean }> {
    const session = this.session as SessionImpl | undefined
    if (this.role !== 'client' || !session || session.state !== 'suspended') {
      throw new EchoError(ErrorCodes.E_STATE, `Cannot reconnect: the ${this.role}'s session is ${session?.state ?? 'missing'}, not suspended.`)
    }
    const connection = await this.transport!.connect(this.url!)
    if (this.#state !== 'started' || session.state !== 'suspended') {
      connection.close(CloseCodes.goingAway, 'client stopping')
      throw new EchoError(ErrorCodes.E_CLOSED, 'The client stopped while reconnecting.')
    }
    this.#bind(session, connection)
    session.awaitingWelcome = true
    const welcomed = new Promise<boolean>((resolve, reject) => {
      this.#welcomeWaiter = { resolve: resolve as (recovered?: boolean) => void, reject }
    })
    session.handshakeTimer = setTimeout(() => {
      this.#welcomeWaiter?.reject(new EchoError(ErrorCodes.E_TIMEOUT, `No answer to the reconnect handshake from ${this.url} within ${this.#handshakeTimeoutMs} ms.`, { retryable: true }))
      session.awaitingWelcome = false
      connection.close(CloseCodes.handshakeTimeout, 'handshake timeout')
    }, this.#handshakeTimeoutMs)
    this.#writeRaw(session, { kind: KernelFrames.hello, payload: this.#helloPayload() })
    try {
      return { recovered: await welcomed }
    } finally {
      this.#welcomeWaiter = undefined
    }
  }

  /** The client's `hello`: version, codec, wire plugins and its limits, then what `hello` taps add. */
  #helloPayload(): HelloPayload {
    const base: HelloPayload = { protocol: PROTOCOL_VERSION, codec: this.codec!.name, plugins: this.wirePlugins(), limits: { maxPayload: this.#limits().maxPayload } }
    try {
      return this.#hooks.hello.call(base)
    } catch (error) {
      throw EchoError.from(error, ErrorCodes.E_PLUGIN)
    }
  }

  /** The server's `welcome.limits`: what its transport accepts and how it pings. */
  #welcomeLimits(): WelcomeLimits {
    const limits = this.#limits()
    return { maxPayload: limits.maxPayload, pingIntervalMs: limits.pingIntervalMs ?? 0, pingTimeoutMs: limits.pingTimeoutMs ?? 0 }
  }

  #receive(session: SessionImpl, bytes: Uint8Array, arrivedAt: number): void {
    if (session.state === 'closed') return
    const decoded = this.codec!.decode(bytes)
    if (!decoded.ok) {
      if (session.state === 'open') this.#protocolError(session, decoded.error)
      else this.#refuse(session, decoded.error, CloseCodes.protocol)
      return
    }
    let frame: Frame | null = decoded.frame
    if (session.state === 'handshaking' || session.awaitingWelcome) {
      // A tap that throws in connect/welcome must refuse this peer, not reject into the void (and crash).
      const handshake = this.role === 'server' ? this.#onHello(session, frame) : this.#onWelcome(session, frame)
      handshake.catch((error) => {
        try {
          const connected = this.role === 'server' && session.id !== '' && session.state !== 'closed'
          this.#refuse(session, EchoError.from(error, ErrorCodes.E_INTERNAL), CloseCodes.internalError)
          // `connect` taps ran for this session (a `welcome` tap failed): let them release what they hold.
          if (connected) this.#notifyDisconnect(session, { code: CloseCodes.internalError, reason: 'refused: handshake failed' })
        } catch (failure) {
          this.logger.error(`refusing ${session.peer} failed: ${messageOf(failure)}`)
        }
      })
      return
    }
    try {
      frame = this.#hooks.inbound.call(frame, session, bytes.byteLength)
    } catch (error) {
      // A plugin's inbound tap failed on this frame: tell the peer, keep the process and the session.
      const kind = describeKind(decoded.frame)
      this.logger.error(`inbound tap failed on a '${kind}' frame: ${messageOf(error)}`)
      this.#protocolError(session, new EchoError(ErrorCodes.E_INTERNAL, `The ${this.role} failed to process a '${kind}' frame: ${messageOf(error)}`, { cause: error }), decoded.frame)
      return
    }
    if (!frame) return
    // Consecutive frames are mostly of one kind (a batch of calls, of replies, of chunks): compare
    // with the last kind before hashing the decoded string for the map.
    const kind = frame.kind
    let route: FrameRoute | undefined
    if (kind === this.#lastKind) route = this.#lastRoute
    else {
      route = this.#routes.get(kind)
      this.#lastKind = route ? kind : undefined
      this.#lastRoute = route
    }
    if (route) {
      try {
        route.handler(frame, session, bytes.byteLength, arrivedAt)
      } catch (error) {
        this.#protocolError(session, EchoError.from(error, ErrorCodes.E_PROTOCOL), frame)
      }
    } else if (frame.kind === KernelFrames.error) {
      this.#onErrorFrame(session, frame)
    } else {
      this.#protocolError(
        session,
        new EchoError(ErrorCodes.E_PROTOCOL, `Unknown frame kind '${describeKind(frame)}': the ${this.role === 'server' ? 'server' : 'client'} has no plugin that handles it (loaded: ${this.#records.map((r) => r.def.name).join(', ')}).`),
        frame,
      )
    }
  }

  #onErrorFrame(session: SessionImpl, frame: Frame): void {
    const error = EchoError.fromWire(frame.payload)
    const re = (frame.payload as { re?: unknown } | undefined)?.re
    const route = typeof re === 'string' ? this.#routes.get(re) : undefined
    if (!route?.onError) return this.#notifyProtocolError(error, session)
    try {
      route.onError(error, frame.id, session)
    } catch (failure) {
      this.logger.error(`handling an error frame ('${re}') failed: ${messageOf(failure)}`)
    }
  }

  /** Tells the peer about a bad frame without closing (the session stays usable). */
  #protocolError(session: SessionImpl, error: EchoError, frame?: Frame): void {
    this.#notifyProtocolError(error, session)
    const payload: Record<string, unknown> = { ...error.toWire() }
    if (frame) payload.re = frame.kind
    try {
      this.sendFrame(session, frame?.id === undefined ? { kind: KernelFrames.error, payload } : { kind: KernelFrames.error, id: frame.id, payload })
    } catch {
      // the session is closing; nothing more to tell
    }
  }

  /** Refuses a handshaking peer: an error frame with the reason, then a close with a code. */
  #refuse(session: SessionImpl, error: EchoError, code: number): void {
    if (session.state === 'closed') return
    this.#notifyProtocolError(error, session)
    try {
      this.#writeRaw(session, { kind: KernelFrames.error, payload: error.toWire() })
    } catch {
      // encoding an error frame can only fail if the codec is gone; the close still says why
    }
    this.closeSession(session, code, `${error.code}: ${error.message}`)
  }

  async #onHello(session: SessionImpl, frame: Frame): Promise<void> {
    if (session.id) {
      // A second frame while `connect` taps are still deciding: the client must wait for `welcome`.
      return this.#refuse(session, new EchoError(ErrorCodes.E_PROTOCOL, `Frame '${frame.kind}' arrived before 'welcome': wait for the handshake to finish before sending.`), CloseCodes.protocol)
    }
    if (frame.kind !== KernelFrames.hello) {
      return this.#refuse(session, new EchoError(ErrorCodes.E_PROTOCOL, `The first frame must be 'hello', got '${frame.kind}': start with the handshake (PROTOCOL.md).`), CloseCodes.protocol)
    }
    const hello = frame.payload as HelloPayload | undefined
    if (typeof hello !== 'object' || hello === null || Array.isArray(hello)) {
      return this.#refuse(session, kernelErrors.malformedHello(`its payload is ${describe(hello)}`), CloseCodes.protocol)
    }
    // The version first: a v1 client (no `limits`) must hear that it is too old, not that its hello is malformed.
    if (hello.protocol !== PROTOCOL_VERSION) {
      if (typeof hello.protocol !== 'number') return this.#refuse(session, kernelErrors.malformedHello(`'protocol' is ${describe(hello.protocol)}`), CloseCodes.protocol)
      return this.#refuse(session, kernelErrors.incompatibleProtocol('client', hello.protocol, PROTOCOL_VERSION), CloseCodes.incompatible)
    }
    const shape = helloProblem(hello)
    if (shape) return this.#refuse(session, kernelErrors.malformedHello(shape), CloseCodes.protocol)
    const problem = this.#incompatibility(hello)
    if (problem) return this.#refuse(session, new EchoError(ErrorCodes.E_INCOMPATIBLE, problem), CloseCodes.incompatible)
    session.peerMaxPayload = Math.floor(hello.limits.maxPayload)
    clearHandshakeTimer(session)
    const previous = this.#hooks.resume.call(hello, session) as SessionImpl | undefined
    if (previous && previous !== session && previous.state === 'suspended') return this.#adopt(previous, session, hello)
    // Frozen after `connect`: until then a tap may remove what must not linger (auth strips credentials).
    // The decoded payload itself (a fresh object from the codec), not a copy: one object less per
    // session; and the codec name it carries (checked equal above) as the kernel's own string.
    hello.codec = this.codec!.name
    session.handshake = hello
    session.id = newSessionId()
    try {
      await this.#hooks.connect.promise(session)
    } catch (error) {
      const refusal = EchoError.from(error, ErrorCodes.E_PROTOCOL)
      const code = refusal.code === ErrorCodes.E_UNAUTHORIZED ? CloseCodes.unauthorized : refusal.code === ErrorCodes.E_INCOMPATIBLE ? CloseCodes.incompatible : CloseCodes.protocol
      this.#refuse(session, refusal, code)
      // `connect` taps before the refusing one may hold state for this session: let them release it.
      this.#notifyDisconnect(session, { code, reason: `refused: ${refusal.code}` })
      return
    }
    if (session.state === 'closed') {
      // Gone while `connect` ran: let the plugins that accepted it clean up.
      this.#notifyDisconnect(session, session.closeInfo ?? { code: CloseCodes.goingAway, reason: 'closed during handshake' })
      return
    }
    Object.freeze(session.handshake)
    const welcome = this.#hooks.welcome.call({ sessionId: session.id, protocol: PROTOCOL_VERSION, plugins: this.wirePlugins(), limits: this.#welcomeLimits() }, session)
    session.state = 'open'
    this.#sessions.set(session.id, session)
    this.#writeRaw(session, { kind: KernelFrames.welcome, payload: welcome })
  }

  /** Server: re-attaches a suspended session to the connection of a `hello` that proved to own it. */
  #adopt(previous: SessionImpl, fresh: SessionImpl, hello: HelloPayload): void {
    fresh.state = 'closed' // the placeholder is dropped; its connection now belongs to `previous`
    // Credentials are not kept: the resume token already proved who this is.
    const { auth: _credentials, ...kept } = hello
    previous.handshake = Object.freeze(kept)
    this.#bind(previous, fresh.connection)
    previous.state = 'open'
    previous.peerMaxPayload = Math.floor(hello.limits.maxPayload)
    const welcome = this.#hooks.welcome.call({ sessionId: previous.id, protocol: PROTOCOL_VERSION, plugins: this.wirePlugins(), limits: this.#welcomeLimits() }, previous)
    this.#writeRaw(previous, { kind: KernelFrames.welcome, payload: welcome })
    this.#notifyResumed(previous)
  }

  #notifyResumed(session: SessionImpl): void {
    try {
      this.#hooks.resumed.call(session)
    } catch (error) {
      this.logger.error(`resumed hook failed: ${messageOf(error)}`)
    }
  }

  #incompatibility(hello: HelloPayload): string | undefined {
    if (hello.codec !== this.codec!.name) {
      return `The client encodes with '${hello.codec}', this server with '${this.codec!.name}': configure the same codec plugin on both sides.`
    }
    const mine = this.wirePlugins()
    const problems: string[] = []
    for (const [name, version] of Object.entries(hello.plugins)) {
      if (mine[name] === undefined) problems.push(`the client uses plugin '${name}' (wire ${version}), which this server does not load`)
      else if (mine[name] !== version) problems.push(`plugin '${name}' speaks wire ${version} on the client but ${mine[name]} on the server`)
    }
    return problems.length ? `Incompatible plugins: ${problems.join('; ')}. Load the same plugins, in compatible versions, on both sides.` : undefined
  }

  async #onWelcome(session: SessionImpl, frame: Frame): Promise<void> {
    if (session.awaitingWelcome) return this.#onReconnectWelcome(session, frame)
    const waiter = this.#welcomeWaiter
    if (frame.kind === KernelFrames.error) {
      const error = EchoError.fromWire(frame.payload)
      waiter?.reject(error)
      this.closeSession(session, CloseCodes.normal, error.code)
      return
    }
    const welcome = frame.payload as WelcomePayload | undefined
    if (frame.kind !== KernelFrames.welcome || typeof welcome?.sessionId !== 'string') {
      const error = new EchoError(ErrorCodes.E_PROTOCOL, `Expected 'welcome' from the server, got '${frame.kind}': is ${this.url} an echostream server?`)
      waiter?.reject(error)
      this.closeSession(session, CloseCodes.protocol, error.message)
      return
    }
    const limitsProblem = welcomeProblem(welcome)
    if (limitsProblem) {
      const error = kernelErrors.malformedWelcome(limitsProblem)
      waiter?.reject(error)
      this.closeSession(session, CloseCodes.protocol, error.message)
      return
    }
    clearHandshakeTimer(session)
    this.#applyWelcomeLimits(session, welcome.limits)
    session.id = welcome.sessionId
    session.handshake = Object.freeze({ ...welcome })
    session.state = 'open'
    try {
      await this.#hooks.connect.promise(session)
      waiter?.resolve()
    } catch (error) {
      waiter?.reject(EchoError.from(error, ErrorCodes.E_PLUGIN))
      this.closeSession(session, CloseCodes.normal, 'client connect hook failed')
    }
  }

  /** Client: the server's limits bound what this side sends, and its ping schedule sets the liveness deadline. */
  #applyWelcomeLimits(session: SessionImpl, limits: WelcomeLimits): void {
    session.peerMaxPayload = Math.floor(limits.maxPayload)
    if (limits.pingIntervalMs > 0) {
      try {
        session.connection.expectPings?.(limits.pingIntervalMs, limits.pingTimeoutMs)
      } catch (error) {
        this.logger.error(`transport expectPings failed: ${messageOf(error)}`)
      }
    }
  }

  /** Client: the answer to a reconnect `hello` on a suspended session. */
  async #onReconnectWelcome(session: SessionImpl, frame: Frame): Promise<void> {
    const waiter = this.#welcomeWaiter
    session.awaitingWelcome = false
    clearHandshakeTimer(session)
    const welcome = frame.payload as WelcomePayload | undefined
    if (frame.kind !== KernelFrames.welcome || typeof welcome?.sessionId !== 'string') {
      // Refused (or not a welcome): the session stays suspended; the caller decides whether to retry.
      waiter?.reject(frame.kind === KernelFrames.error ? EchoError.fromWire(frame.payload) : new EchoError(ErrorCodes.E_PROTOCOL, `Expected 'welcome' from the server, got '${frame.kind}'.`))
      session.connection.close(CloseCodes.normal, 'reconnect refused')
      return
    }
    const limitsProblem = welcomeProblem(welcome)
    if (limitsProblem) {
      waiter?.reject(kernelErrors.malformedWelcome(limitsProblem))
      session.connection.close(CloseCodes.protocol, 'malformed welcome')
      return
    }
    this.#applyWelcomeLimits(session, welcome.limits)
    session.handshake = Object.freeze({ ...welcome })
    if (welcome.sessionId === session.id) {
      session.state = 'open'
      this.#notifyResumed(session)
      waiter?.resolve(true)
      return
    }
    // The server no longer has this session: the old one ends here and a new one begins on the same object.
    const lost = session.closeInfo ?? { code: 1006, reason: 'connection lost' }
    this.#notifyDisconnect(session, { code: lost.code, reason: `session not recovered (${lost.reason})` })
    session.id = welcome.sessionId
    session.state = 'open'
    try {
      await this.#hooks.connect.promise(session)
      waiter?.resolve(false)
    } catch (error) {
      waiter?.reject(EchoError.from(error, ErrorCodes.E_PLUGIN))
      this.closeSession(session, CloseCodes.normal, 'client connect hook failed')
    }
  }
}

function isCount(value: unknown, min: number): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= min
}

/** What is wrong with a v2 `hello` besides its version, if anything. */
function helloProblem(hello: HelloPayload): string | undefined {
  if (typeof hello.codec !== 'string') return `'codec' is ${describe(hello.codec)}, not a string`
  if (typeof hello.plugins !== 'object' || hello.plugins === null || Array.isArray(hello.plugins)) return `'plugins' is ${describe(hello.plugins)}, not a map of name → wire version`
  const limits = hello.limits as unknown
  if (typeof limits !== 'object' || limits === null) return `'limits' is ${describe(limits)}, not { maxPayload }`
  if (!isCount((limits as { maxPayload?: unknown }).maxPayload, 1)) return `'limits.maxPayload' is ${describe((limits as { maxPayload?: unknown }).maxPayload)}, not a positive number of bytes`
  return undefined
}

/** What is wrong with a `welcome`'s limits, if anything. */
function welcomeProblem(welcome: WelcomePayload): string | undefined {
  const limits = welcome.limits as unknown as Record<string, unknown> | undefined
  if (typeof limits !== 'object' || limits === null) return `'limits' is ${describe(limits)}, not { maxPayload, pingIntervalMs, pingTimeoutMs }`
  if (!isCount(limits.maxPayload, 1)) return `'limits.maxPayload' is ${describe(limits.maxPayload)}`
  if (!isCount(limits.pingIntervalMs, 0) || !isCount(limits.pingTimeoutMs, 0)) return `'limits.pingIntervalMs'/'pingTimeoutMs' must be numbers of milliseconds ≥ 0`
  return undefined
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
  return kernel as unknown as EchoKernel
}

export { isFrame }
