/**
 * Every hook bus of the kernel, declared once (as webpack's `Compiler.hooks`). Every tap carries
 * its owner (a plugin's name, or the application), set by a `register` interceptor when the tap is
 * made; unloading a plugin drops exactly the taps it owns (see host.ts).
 */
import { AsyncParallelHook, AsyncSeriesHook, SyncBailHook, SyncHook, SyncWaterfallHook } from 'tapable'
import type { Frame, HelloPayload, WelcomePayload } from './frame.js'
import type { EchoError } from './errors.js'
import type { Session, CloseInfo } from './session.js'

/** What `authorize` decides on: the kind of action and its name (method, event, room, stream). */
export interface Action {
  kind: 'rpc' | 'event' | 'room' | 'stream' | (string & {})
  name: string
}

/** Runs the `authorize` hook; returns the refusal, if any. Cheap when nothing taps it. */
export function authorize(hooks: Hooks, action: Action, session: Session): EchoError | undefined {
  return hooks.authorize.taps.length === 0 ? undefined : (hooks.authorize.call(action, session) ?? undefined)
}

const factories = {
  /** After every plugin's setup, before `start`; runs once (and for a plugin loaded later). */
  init: () => new AsyncSeriesHook<[]>(),
  /** `kernel.start()`: transports listen (server) or connect (client). */
  start: () => new AsyncSeriesHook<[]>(),
  /** Server: right after `start`, once the transport listens at `url` (advertise it here, e.g. over mDNS). */
  listening: () => new SyncHook<[string]>(['url']),
  /** `kernel.drain(ms)`: new connections are refused; taps finish in-flight work before the deadline (epoch ms). Taps run in parallel. */
  drain: () => new AsyncParallelHook<[number]>(['deadline']),
  /** `kernel.stop()`: release connections. Runs in reverse plugin order; every tap runs even if one fails. */
  stop: () => new AsyncSeriesHook<[]>(),
  /** After `stop`: release everything else. Reverse order; every tap runs. */
  destroy: () => new AsyncSeriesHook<[]>(),
  /** Client: builds the `hello` payload (add credentials, resume tokens). */
  hello: () => new SyncWaterfallHook<[HelloPayload]>(['hello']),
  /** A session passed the handshake. Server: before `welcome` is sent; throwing an EchoError refuses it. Client: after `welcome`. */
  connect: () => new AsyncSeriesHook<[Session]>(['session']),
  /** Server: builds the `welcome` payload for a session that `connect` accepted. */
  welcome: () => new SyncWaterfallHook<[WelcomePayload, Session]>(['welcome', 'session']),
  /**
   * The connection of an open session was lost. A tap returning `true` keeps the session
   * `suspended` for a later resume (reconnect plugin) instead of ending it; `disconnect` then waits.
   */
  suspend: () => new SyncBailHook<[Session, CloseInfo], boolean | undefined | void>(['session', 'reason']),
  /** Server: a `hello` asks to resume. Return the suspended session it proves to own, to re-attach it. */
  resume: () => new SyncBailHook<[HelloPayload, Session], Session | undefined | void>(['hello', 'session']),
  /** A suspended session is open again on a new connection (server: after `welcome`; client: on `welcome`). */
  resumed: () => new SyncHook<[Session]>(['session']),
  /** A session that had connected is gone, with the close code and reason. */
  disconnect: () => new SyncHook<[Session, CloseInfo]>(['session', 'reason']),
  /**
   * Every decoded frame from the peer, before dispatch, with the byte length of the message that
   * carried it (metrics). Return the frame (or a new one), or `null` to drop it.
   */
  inbound: () => new SyncWaterfallHook<[Frame | null, Session, number]>(['frame', 'session', 'size']),
  /** Every frame about to be encoded and sent. Return the frame (or a new one), or `null` to drop it. */
  outbound: () => new SyncWaterfallHook<[Frame | null, Session]>(['frame', 'session']),
  /**
   * After a frame passed `outbound` and was encoded, before it is written: the exact bytes (their
   * `byteLength` is the real size) with the frame they carry. Also while the session is
   * `suspended` (then the bytes are not written: reconnect records them for the replay). Never
   * called for a frame refused at send time (oversize, volatile over budget). Throwing fails the send.
   */
  sent: () => new SyncHook<[Uint8Array, Frame, Session]>(['bytes', 'frame', 'session']),
  /**
   * Before an app handler runs for a peer's action (`rpc` call, `event`, `room` join, `stream` open):
   * a tap returns an EchoError (usually E_UNAUTHORIZED) to refuse it. Sync: decide from `session.data`.
   */
  authorize: () => new SyncBailHook<[Action, Session], EchoError | undefined | void>(['action', 'session']),
  /** A protocol-level problem with a peer (bad bytes, unknown kind, error frame nobody claimed). For logging and metrics. */
  protocolError: () => new SyncHook<[EchoError, Session | undefined]>(['error', 'session']),
}

export type Hooks = Readonly<{ [K in keyof typeof factories]: ReturnType<(typeof factories)[K]> }>
export type HookName = keyof Hooks
export const hookNames = Object.keys(factories) as HookName[]

export function createHooks(): Hooks {
  const hooks = {} as Record<HookName, unknown>
  for (const name of hookNames) hooks[name] = factories[name]()
  return Object.freeze(hooks) as Hooks
}

/** Tap options the kernel understands besides tapable's: the owner of the tap (see host.ts). */
export interface OwnedTapOptions {
  name: string
  stage?: number
  /** Who the tap belongs to; set by the kernel when absent. */
  owner?: string
}

/** Tap stages the kernel exports: order taps by these, never by tapable's `before` (tapable#168). */
export const Stage = Object.freeze({
  FIRST: -1000,
  EARLY: -100,
  NORMAL: 0,
  LATE: 100,
  LAST: 1000,
})
