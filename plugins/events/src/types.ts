/**
 * Public types. Event maps are augmentable (as Fastify decorators are typed): declare the events
 * your app sends and `on`/`emit` infer the data; any other name still works, with `any` data.
 *
 * ```ts
 * declare module '@echostream/plugin-events' {
 *   interface ServerEvents { tick: { n: number } }   // server → client
 *   interface ClientEvents { chat: string }          // client → server
 * }
 * ```
 */
import type { EchoError, Schema, Session } from '@echostream/kernel'
import type { EventsBackend } from './backend.js'

/** Events the server sends to clients (`broadcast`, `to(room).emit`, `session.emit`): name → data. Augment it. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ServerEvents {}

/** Events clients send to the server (the client's `events.emit`): name → data. Augment it. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ClientEvents {}

/** A name from the map (suggested by editors) or any other string. */
export type EventName<M> = (keyof M & string) | (string & {})

/** The data type of `K` in map `M`; `any` for a name the map does not declare. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type EventData<M, K> = K extends keyof M ? M[K] : any

/** Any event name, declared in either map or not. */
export type AnyEventName = EventName<ServerEvents> | EventName<ClientEvents>

/**
 * What a handler of `K` receives: a server receives `ClientEvents`, a client `ServerEvents`. The
 * kernel type does not know its role, so a name declared in both maps gets the union of both.
 */
export type ReceivedData<K> = K extends keyof ServerEvents
  ? K extends keyof ClientEvents
    ? ServerEvents[K] | ClientEvents[K]
    : ServerEvents[K]
  : EventData<ClientEvents, K>

/**
 * A handler: `(data, session)`, sync or async. Its return value is ignored (typed `void`, as Node's
 * listeners, so `(d) => list.push(d)` compiles); a returned promise that rejects is logged.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type EventsHandler<D = any> = (data: D, session: Session) => void

/** A user-facing subscription's own undo (STYLE rule 5). */
export type Unsubscribe = () => void

/** `data` may be left out when the event's type admits `undefined` (and for undeclared names). */
export type DataArgs<D> = undefined extends D ? [data?: D] : [data: D]
export type DataAndOptions<D, O> = undefined extends D ? [data?: D, options?: O] : [data: D, options?: O]

export interface EmitOptions {
  /**
   * The event may be dropped rather than queued (socket.io's `volatile`): when the session is over
   * its outbound budget (a slow or paused peer), or offline while reconnect waits to resume it, a
   * volatile event is dropped and counted instead of growing memory or closing the session. For
   * data a newer event supersedes (positions, ticks, media levels).
   */
  volatile?: boolean
}

export interface BroadcastOptions extends EmitOptions {
  /** A session (or sessions) that must not receive it — typically the one whose event caused it. */
  except?: Session | readonly Session[]
}

/** What a broadcast did, session by session (one session's failure never costs another its event). */
export interface BroadcastReport {
  /** Sessions it was sent to (written, or recorded for a suspended session to replay). */
  sent: number
  /** Sessions that did not get a volatile event: over their outbound budget, or offline. */
  dropped: number
  /** Sessions for which sending failed (its peer's maxPayload is smaller, a plugin tap threw…). */
  failed: number
  /** The first failures (at most 16) with their errors. */
  failures: Array<{ session: Session; error: EchoError }>
}

/** Counters since the plugin was set up. */
export interface EventsStats {
  /** Volatile events not sent: the session was over its outbound budget, or offline. */
  volatileDropped: number
  /** Sessions a broadcast or room emit failed for (see `BroadcastReport.failures`). */
  failed: number
}

/** `events.volatile`: the same calls, for events that may be dropped instead of queued. */
export interface VolatileEmitter {
  /** Client: as `events.emit`; returns false when the event was dropped (over budget, or offline). */
  emit<K extends EventName<ClientEvents>>(name: K, ...args: DataArgs<EventData<ClientEvents, K>>): boolean
  /** Server: as `events.broadcast`, volatile. */
  broadcast<K extends EventName<ServerEvents>>(name: K, ...args: DataAndOptions<EventData<ServerEvents, K>, BroadcastOptions>): BroadcastReport
  /** Server: as `events.to(room)`, volatile. */
  to(room: string | readonly string[]): RoomEmitter
}

/** `events.to(room)`: sends to the members of one or more rooms. */
export interface RoomEmitter {
  /** Sends to every open (or suspended) session in the rooms, once each, encoded once. */
  emit<K extends EventName<ServerEvents>>(name: K, ...args: DataAndOptions<EventData<ServerEvents, K>, BroadcastOptions>): BroadcastReport
}

/** `kernel.events`, on both sides; server-only methods throw `E_STATE` on a client. */
export interface EventsApi {
  /**
   * Checks every `name` event from the peer against `schema` (a JSON Schema or a Standard Schema
   * validator: zod, valibot, arktype) before any listener runs; a payload that fails is refused with
   * `E_INVALID_PAYLOAD` listing the problems, and listeners receive the schema's output. One schema
   * per event name. Returns the function that removes it.
   */
  schema<K extends AnyEventName>(name: K, schema: Schema<ReceivedData<K>>): Unsubscribe
  /** Calls `handler(data, session)` for every `name` event from the peer. Returns its unsubscribe. */
  on<K extends AnyEventName>(name: K, handler: EventsHandler<ReceivedData<K>>): Unsubscribe
  /** As `on`, for the next `name` event only. */
  once<K extends AnyEventName>(name: K, handler: EventsHandler<ReceivedData<K>>): Unsubscribe
  /** Removes every registration of `handler` for `name`, or all of `name`'s handlers. Returns how many were removed. */
  off<K extends AnyEventName>(name: K, handler?: EventsHandler<ReceivedData<K>>): number
  /**
   * Client: sends an event to the server, fire-and-forget. Returns `session.writable` after
   * queuing it: false means the connection is congested — await `client.session.whenWritable()`
   * before sending more (as Node's `stream.write`). Throws `E_CLOSED` when not connected,
   * `E_PAYLOAD_TOO_LARGE` above the server's maxPayload (nothing sent, the session stays open).
   */
  emit<K extends EventName<ClientEvents>>(name: K, ...args: DataAndOptions<EventData<ClientEvents, K>, EmitOptions>): boolean
  /** Server: sends to every open (or suspended) session, encoded once; one session's failure never costs another its event. */
  broadcast<K extends EventName<ServerEvents>>(name: K, ...args: DataAndOptions<EventData<ServerEvents, K>, BroadcastOptions>): BroadcastReport
  /** The same calls for events that may be dropped instead of queued (socket.io's `volatile`). */
  readonly volatile: VolatileEmitter
  /** Counters: volatile events dropped, broadcast failures. */
  stats(): EventsStats
  /** Server: targets the members of a room, or of several rooms (a member of two gets it once). */
  to(room: string | readonly string[]): RoomEmitter
  /** Server: names of the rooms that have members. */
  rooms(): string[]
  /** Server: the open sessions in `room` (empty when the room does not exist). */
  in(room: string): Session[]
  /** Handlers registered for `name`, or in total. */
  listenerCount(name?: string): number
  /**
   * Server: routes room events and broadcasts through `backend` (a cluster plugin's; `null`
   * restores delivery to this node's sessions). Returns the backend it replaced.
   */
  useBackend(backend: EventsBackend | null): EventsBackend | null
  /** Server: the backend that delivers to this node's sessions only (a cluster backend's fallback). */
  localBackend(): EventsBackend
}

declare module '@echostream/kernel' {
  interface KernelApi {
    events: EventsApi
  }
  interface Session {
    /**
     * Sends an event to this session's peer: on a server, to that one client; on a client, to the
     * server (as `events.emit`). Returns `session.writable` afterwards (false: congested, await
     * `whenWritable()`; for a volatile event also: it was dropped). Throws `E_CLOSED` when the
     * session is closed, `E_PAYLOAD_TOO_LARGE` above the peer's maxPayload.
     */
    emit<K extends EventName<ServerEvents>>(name: K, ...args: DataAndOptions<EventData<ServerEvents, K>, EmitOptions>): boolean
    /** Server: adds this session to `room` (no-op if already a member, or if the session is closed). */
    join(room: string): void
    /** Server: removes this session from `room`; an empty room is deleted. */
    leave(room: string): void
    /** Server: the rooms this session is in. */
    rooms(): string[]
  }
}
