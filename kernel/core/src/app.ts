/**
 * The application's surface: `on(event, fn)` listeners (async allowed; each returns its
 * unsubscribe), a server-wide store beside `session.data`, and the facade types `EchoServer` /
 * `EchoClient` — what an application sees: its own surface and the plugins' APIs, without the
 * plumbing plugins get (hooks, routes, codec, transport, frame sending).
 */
import type { EchoError } from './errors.js'
import type { CloseInfo, Session } from './session.js'
import type { KernelStats } from './pipeline.js'
import type { KernelState } from './lifecycle.js'
import type { LoadedPlugin } from './kernel.js'
import type { KernelLogger } from './logger.js'
import type { PluginDefinition } from './plugin.js'
import { defineHandler, type HandlerDefinition } from './handlers.js'

/** Server-wide values, typed by module augmentation: `declare module '@echostream/kernel' { interface AppData { startedAt: number } }`. */
export interface AppData {
  [key: string]: unknown
}

/** A typed Map-like store (`server.data`, and the shape of `session.data`). */
export interface Store<Data> {
  get<K extends keyof Data & string>(key: K): Data[K] | undefined
  set<K extends keyof Data & string>(key: K, value: Data[K]): Store<Data>
  has(key: string): boolean
  delete(key: string): boolean
  keys(): IterableIterator<string>
}

/** Where an `error` event came from. */
export interface ErrorContext {
  /** What failed: 'a disconnect listener', 'a queue meter', 'drain'… */
  source: string
  session?: Session
}

/** The application events and their listeners; a listener may be async. */
export interface AppEvents {
  /** `start()` began: after the plugins' `start` taps, before listening/connecting. Throwing fails the start. */
  start: () => void | Promise<void>
  /** Server: listening at `url`. */
  listening: (url: string) => void | Promise<void>
  /** `stop()` began: before the plugins' `stop` taps and before sockets close. */
  stop: () => void | Promise<void>
  /** A session connected (after the plugins' `connect` taps). On a server, throwing refuses the session with that error. */
  connect: (session: Session) => void | Promise<void>
  /** A connected session ended, with the close code and reason. */
  disconnect: (session: Session, info: CloseInfo) => void | Promise<void>
  /** Something failed outside any caller's reach: a listener or tap that threw, a transport callback. Logged when nobody listens. */
  error: (error: EchoError, context: ErrorContext) => void | Promise<void>
}

export type AppEvent = keyof AppEvents

/** `defineListener('connect', fn)` in a handler module: the same as `server.on('connect', fn)`. */
export function defineListener<E extends AppEvent>(event: E, listener: AppEvents[E]): HandlerDefinition<'listener', AppEvents[E], Record<string, never>> {
  return defineHandler('listener', event, listener, {})
}

/** What an application does with a server or a client. */
export interface AppSurface {
  readonly role: 'server' | 'client'
  readonly state: KernelState
  readonly logger: KernelLogger
  /** Server: the URL clients connect to, once started. Client: the server's URL. */
  readonly url: string | undefined
  /** Server-wide (client-wide) values beside `session.data`. */
  readonly data: Store<AppData>
  start(): Promise<void>
  stop(): Promise<void>
  /** Refuses new connections and lets in-flight work finish, up to `timeoutMs`; then call `stop()`. */
  drain(timeoutMs?: number): Promise<void>
  /** Subscribes to an application event; returns its unsubscribe function. */
  on<E extends AppEvent>(event: E, listener: AppEvents[E]): () => void
  /** Registers `defineRpc`/`defineEvent`/`defineListener` values from code; returns how many. */
  registerHandlers(definitions: Iterable<unknown>, source?: string): number
  plugins(): LoadedPlugin[]
  load(plugin: string | PluginDefinition, options?: unknown): Promise<void>
  unload(name: string): Promise<void>
  stats(): KernelStats
}

/** The application's view of a server: its surface, its sessions, and the plugin APIs `Apis` (`server.rpc`…). */
export type EchoServerOf<Apis> = AppSurface & {
  sessions(): Session[]
  getSession(id: string): Session | undefined
} & Apis

/** The application's view of a client: its surface, its one session, and the plugin APIs `Apis` (`client.rpc`…). */
export type EchoClientOf<Apis> = AppSurface & {
  readonly session: Session | undefined
  sessions(): Session[]
} & Apis

/** A server with every plugin's API (what a config file or an unknown plugin gives). `createServer` narrows it to the config's plugins (config-types.ts). */
export type EchoServer = EchoServerOf<import('./kernel.js').KernelApi>

/** A client with every plugin's API; `createClient` narrows it to the config's plugins. */
export type EchoClient = EchoClientOf<import('./kernel.js').KernelApi>
