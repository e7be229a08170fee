/**
 * The plugin host: every registration — a tap, a route, an exposed API, a session decoration, a
 * handler kind, the codec or transport, a queue meter, a credentials field, a disposer — is a
 * record tagged with its owner when it is made. A plugin owns what it registers while its `setup`
 * runs (or through the scoped registry `setup` receives as its third argument); everything else
 * belongs to the application. Unloading a plugin removes exactly its records: no Proxy, and an
 * application's taps survive any plugin's unload.
 *
 * Taps are tagged by a tapable `register` interceptor (a tap's options may also carry `owner`);
 * a plugin's taps are dropped from `hook.taps` in place, so references to the hooks stay valid.
 */
import { EchoError, ErrorCodes, messageOf } from './errors.js'
import { kernelErrors } from './kernel-errors.js'
import { createHooks, hookNames, type HookName, type Hooks } from './hooks.js'
import { KernelFrames } from './frame.js'
import { checkKernelRange, checkRole, orderPlugins } from './order.js'
import { isHandlerDefinition, type HandlerDefinition } from './handlers.js'
import { SessionImpl, type Session } from './session.js'
import type { Dispose, PluginDefinition } from './plugin.js'
import type { Codec, Transport } from './transport.js'
import type { OptionsValidator } from './options.js'
import type { FrameRoute, Kernel } from './kernel.js'
import type { LoggerProvider, LoggerSeam } from './logger.js'

/** The owner of what the application registers itself (taps, `on` listeners, handler modules). */
export const APP_OWNER = '(application)'

export type Measure = (session: Session) => number

/** What a plugin's `setup` receives as its third argument: registrations that are always its own, even after `setup` returned. */
export interface PluginScope {
  /** The owner name these registrations carry (the plugin's name). */
  readonly owner: string
  /** The kernel's hooks for tapping (`scope.hooks.connect.tap(NAME, fn)`), each tap owned by this plugin. */
  readonly hooks: { readonly [K in HookName]: Pick<Hooks[K], Extract<'tap' | 'tapAsync' | 'tapPromise', keyof Hooks[K]>> }
  route(kind: string, route: FrameRoute): void
  expose(name: string, api: unknown): void
  decorateSession(name: string, value: unknown): void
  provide(what: 'codec', codec: Codec): void
  provide(what: 'transport', transport: Transport): void
  registerHandlerKind(kind: string, register: (definition: HandlerDefinition) => void): void
  onDispose(dispose: Dispose): void
  trackQueued(measure: Measure): () => void
  registerCredentials(field: string): void
  useLogger(provider: LoggerProvider): () => void
}

export interface PluginRecord {
  def: PluginDefinition
  options: Readonly<unknown>
}

export interface StoredTap {
  type: 'sync' | 'async' | 'promise'
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  fn: Function
  owner?: string
}

/** Calls one tap of an argument-less lifecycle hook, whatever its type. */
export function callTap(tap: StoredTap): Promise<unknown> {
  const fn = tap.fn as (...args: unknown[]) => unknown
  if (tap.type === 'async') return new Promise((resolve, reject) => fn((error: unknown) => (error ? reject(error) : resolve(undefined))))
  try {
    return Promise.resolve(fn())
  } catch (error) {
    return Promise.reject(error)
  }
}

export class PluginHost {
  readonly hooks: Hooks = createHooks()
  /** Who registrations made now belong to: the plugin whose setup runs, else the application. */
  currentOwner = APP_OWNER
  records: PluginRecord[] = []
  readonly routes = new Map<string, { route: FrameRoute; owner: string }>()
  readonly handlerKinds = new Map<string, { register: (definition: HandlerDefinition) => void; owner: string }>()
  readonly exposed = new Map<string, string>()
  readonly decorations = new Map<string, string>()
  readonly provided = new Map<'codec' | 'transport', string>()
  readonly credentials = new Map<string, string>()
  /** Queue meters as plain functions, read on every send (one array, edited in place: the pipeline holds it). */
  readonly meters: Measure[] = []
  /** Who registered each meter, and each disposer (runtime-plugins.ts removes an owner's). */
  readonly meterOwners = new Map<Measure, string>()
  disposers: Array<{ dispose: Dispose; owner: string }> = []
  readonly SessionClass: typeof SessionImpl = class extends SessionImpl {}
  /** The kind of the last routed frame and its route: consecutive frames are mostly of one kind. */
  #lastKind: string | undefined
  #lastRoute: FrameRoute | undefined

  constructor(
    readonly kernel: Kernel,
    private readonly validator: OptionsValidator,
    readonly logs: LoggerSeam,
  ) {
    for (const name of hookNames) {
      ;(this.hooks[name] as unknown as { intercept(i: object): void }).intercept({
        register: (tap: StoredTap) => {
          if (tap.owner === undefined) tap.owner = this.currentOwner
          return tap
        },
      })
    }
  }

  routeFor(kind: string): FrameRoute | undefined {
    if (kind === this.#lastKind) return this.#lastRoute
    const route = this.routes.get(kind)?.route
    this.#lastKind = route ? kind : undefined
    this.#lastRoute = route
    return route
  }

  /** Drops the cached route (routes changed). */
  forgetRoute(): void {
    this.#lastKind = this.#lastRoute = undefined
  }

  // ---------------------------------------------------------------- registrations

  route(owner: string, kind: string, route: FrameRoute): void {
    if (this.routes.has(kind) || kind === KernelFrames.error || kind === KernelFrames.hello || kind === KernelFrames.welcome) {
      throw new EchoError(ErrorCodes.E_PLUGIN, `Plugin '${owner}' routes frame kind '${kind}', which is already taken: prefix your kinds with your plugin name.`)
    }
    this.routes.set(kind, { route, owner })
    this.forgetRoute()
  }

  expose(owner: string, key: string, api: unknown): void {
    if (key in this.kernel) throw new EchoError(ErrorCodes.E_PLUGIN, `Plugin '${owner}' exposes '${key}', which the kernel or another plugin already has: rename it.`)
    Object.defineProperty(this.kernel, key, { value: api, configurable: true, enumerable: true, writable: false })
    this.exposed.set(key, owner)
  }

  decorateSession(owner: string, key: string, value: unknown): void {
    const proto = this.SessionClass.prototype as unknown as Record<string, unknown>
    if (key in proto) throw new EchoError(ErrorCodes.E_PLUGIN, `Plugin '${owner}' decorates sessions with '${key}', which already exists: rename it.`)
    Object.defineProperty(proto, key, { value, configurable: true, writable: true })
    this.decorations.set(key, owner)
  }

  provide(owner: string, what: 'codec' | 'transport', impl: Codec | Transport): void {
    ;(this.kernel as unknown as Record<string, unknown>)[what] = impl
    this.provided.set(what, owner)
  }

  registerHandlerKind(owner: string, kind: string, register: (definition: HandlerDefinition) => void): void {
    this.handlerKinds.set(kind, { register, owner })
  }

  onDispose(owner: string, dispose: Dispose): void {
    this.disposers.push({ dispose, owner })
  }

  trackQueued(owner: string, measure: Measure): () => void {
    this.meters.push(measure)
    this.meterOwners.set(measure, owner)
    return () => this.dropMeter(measure)
  }

  dropMeter(measure: Measure): void {
    const at = this.meters.indexOf(measure)
    if (at >= 0) this.meters.splice(at, 1)
    this.meterOwners.delete(measure)
  }

  registerCredentials(owner: string, field: string): void {
    this.credentials.set(field, owner)
  }

  /** Registrations that carry `owner` whenever they are made: what `setup` gets as its third argument. */
  scopeFor(owner: string): PluginScope {
    const hooks = {} as Record<HookName, unknown>
    for (const name of hookNames) hooks[name] = (this.hooks[name] as unknown as { withOptions(o: object): unknown }).withOptions({ owner })
    return Object.freeze({
      owner,
      hooks: Object.freeze(hooks) as PluginScope['hooks'],
      route: (kind: string, route: FrameRoute) => this.route(owner, kind, route),
      expose: (key: string, api: unknown) => this.expose(owner, key, api),
      decorateSession: (key: string, value: unknown) => this.decorateSession(owner, key, value),
      provide: (what: 'codec' | 'transport', impl: Codec | Transport) => this.provide(owner, what, impl),
      registerHandlerKind: (kind: string, register: (definition: HandlerDefinition) => void) => this.registerHandlerKind(owner, kind, register),
      onDispose: (dispose: Dispose) => this.onDispose(owner, dispose),
      trackQueued: (measure: Measure) => this.trackQueued(owner, measure),
      registerCredentials: (field: string) => this.registerCredentials(owner, field),
      useLogger: (provider: LoggerProvider) => this.logs.use(owner, provider),
    }) as PluginScope
  }

  // ---------------------------------------------------------------- plugins

  /** Sets plugins up (validated and ordered) and runs their `init` taps (and `start`, once started). */
  async install(entries: ReadonlyArray<PluginDefinition | readonly [PluginDefinition, unknown]>): Promise<void> {
    const withOptions = entries.map((e) => (Array.isArray(e) ? e : [e, undefined]) as readonly [PluginDefinition, unknown])
    const defs = withOptions.map(([def]) => def)
    for (const def of defs) {
      checkKernelRange(def)
      checkRole(def, this.kernel.role)
    }
    const ordered = orderPlugins(defs, this.records.map((r) => r.def))
    const validated = new Map(withOptions.map(([def, raw]) => [def, this.validator.validate(def.schema, raw, `plugin '${def.name}'`, `options['${def.name}']`)]))
    const added: string[] = []
    for (const def of ordered) {
      const record: PluginRecord = { def, options: validated.get(def) as Readonly<unknown> }
      this.records.push(record)
      added.push(def.name)
      const previous = this.currentOwner
      this.currentOwner = def.name
      try {
        const dispose = await def.setup(this.kernel as never, record.options as never, this.scopeFor(def.name))
        if (typeof dispose === 'function') this.onDispose(def.name, dispose)
      } catch (error) {
        throw EchoError.is(error) ? error : new EchoError(ErrorCodes.E_PLUGIN, `Plugin '${def.name}' failed in setup: ${messageOf(error)}`, { cause: error })
      } finally {
        this.currentOwner = previous
      }
    }
    await this.runTapsOf(added, 'init')
    if (this.kernel.state === 'started') await this.runTapsOf(added, 'start')
  }

  /** Runs, in order, the taps of `owners` on an argument-less lifecycle hook. */
  async runTapsOf(owners: readonly string[], name: 'init' | 'start'): Promise<void> {
    const set = new Set(owners)
    for (const tap of [...(this.hooks[name].taps as StoredTap[])]) if (set.has(tap.owner!)) await callTap(tap)
  }

  /** Runs `owner`'s disposers in reverse; returns what they threw. */
  async dispose(owner: string): Promise<unknown[]> {
    const errors: unknown[] = []
    for (const { dispose } of this.disposers.filter((d) => d.owner === owner).reverse()) {
      try {
        await dispose()
      } catch (error) {
        errors.push(error)
      }
    }
    this.disposers = this.disposers.filter((d) => d.owner !== owner)
    return errors
  }

  /** Registers `defineRpc`/`defineEvent`… definitions with the plugins that handle their kinds. */
  registerHandlers(definitions: Iterable<unknown>, source = 'code'): number {
    let count = 0
    for (const definition of definitions) {
      if (!isHandlerDefinition(definition)) continue
      const kind = this.handlerKinds.get(definition.kind)
      if (!kind) throw kernelErrors.noHandlerKind(source, definition.kind, definition.name)
      kind.register(definition)
      count++
    }
    return count
  }

  wirePlugins(): Record<string, number> {
    const wire: Record<string, number> = {}
    for (const { def } of this.records) if (def.wire !== undefined) wire[def.name] = def.wire
    return wire
  }
}
