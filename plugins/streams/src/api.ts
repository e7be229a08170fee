/**
 * `kernel.streams` and `session.openStream`, over one StreamMux per session (created on first use,
 * closed by the `disconnect` hook).
 */
import { messageOf, type EchoKernel, type Schema, type SchemaCheck, type Session } from '@echostream/kernel'
import { streamsError, StreamsErrorCodes } from './errors.js'
import { checkStreamName } from './frames.js'
import { StreamMux, type StreamsContext } from './mux.js'
import type { StreamWriter } from './writer.js'
import type { OpenOptions, SessionStreamList, SessionStreamStats, StreamHandler, StreamsApi } from './types.js'

export class Muxes {
  readonly #ctx: StreamsContext
  readonly #bySession = new WeakMap<Session, StreamMux>()
  readonly #live = new Set<StreamMux>()
  /** Sessions that resumed on a server without their streams: the epoch their next mux is fenced at (mux.ts). */
  readonly #fences = new WeakMap<Session, string>()

  constructor(ctx: StreamsContext) {
    this.#ctx = ctx
  }

  /** The session's mux if it has one. */
  get(session: Session): StreamMux | undefined {
    return this.#bySession.get(session)
  }

  /** The session's mux, made on first use while the session is open. */
  of(session: Session): StreamMux | undefined {
    let mux = this.#bySession.get(session)
    if (!mux && session.state === 'open') {
      mux = new StreamMux(this.#ctx, session, this.#fences.get(session))
      this.#fences.delete(session)
      this.#bySession.set(session, mux)
      this.#live.add(mux)
    }
    return mux
  }

  /**
   * The session resumed on a server that does not have its streams (a new streams epoch): its next
   * mux drops the stream frames replayed from the old server until the peer's `stream.fence`, and
   * sends its own before anything else. Call after `close`.
   */
  fence(session: Session, epoch: string): void {
    this.#fences.set(session, epoch)
  }

  close(session: Session, reason: string): void {
    this.#fences.delete(session)
    const mux = this.#bySession.get(session)
    if (!mux) return
    // Forgotten, so a Session object that reconnect revives as a new session gets a fresh mux.
    this.#bySession.delete(session)
    this.#live.delete(mux)
    mux.close(streamsError(StreamsErrorCodes.E_CLOSED, reason))
  }

  closeAll(reason: string): void {
    for (const mux of this.#live) mux.close(streamsError(StreamsErrorCodes.E_CLOSED, reason))
    this.#live.clear()
  }
}

function open<T>(muxes: Muxes, session: Session | undefined, name: string, meta: unknown, options: OpenOptions | undefined, maxNameLength: number): Promise<StreamWriter<T>> {
  try {
    checkStreamName(name, maxNameLength, 'open')
  } catch (error) {
    return Promise.reject(error)
  }
  const mux = session ? muxes.of(session) : undefined
  if (!session || !mux) {
    return Promise.reject(streamsError(StreamsErrorCodes.E_CLOSED, `Cannot open stream '${name}': ${session ? `the session is ${session.state}` : 'the client is not connected'}. Await start() (or a new connection) first.`))
  }
  return mux.open<T>(name, meta, options)
}

export function createStreamsApi(kernel: EchoKernel, ctx: StreamsContext, handlers: Map<string, StreamHandler>, muxes: Muxes): StreamsApi {
  const { maxNameLength } = ctx.options
  return {
    open<T>(name: string, meta?: unknown, options?: OpenOptions): Promise<StreamWriter<T>> {
      if (kernel.role === 'server' && !options?.session) {
        return Promise.reject(streamsError(StreamsErrorCodes.E_STATE, `streams.open('${name}') on a server needs a session: use session.openStream('${name}', meta) or streams.open('${name}', meta, { session }).`))
      }
      return open<T>(muxes, options?.session ?? kernel.session, name, meta, options, maxNameLength)
    },

    handle(name, handler, options) {
      checkStreamName(name, maxNameLength, 'handle')
      if (typeof handler !== 'function') {
        throw streamsError(StreamsErrorCodes.E_INVALID_ARGUMENT, `streams.handle('${name}', handler): the handler must be a function.`)
      }
      if (handlers.has(name)) {
        throw streamsError(StreamsErrorCodes.E_CONFIG, `Stream '${name}' already has a handler: one handler per stream name (unsubscribe the first with the function handle() returned).`)
      }
      const fn = handler as StreamHandler
      const metaCheck = compileMeta(ctx, name, options?.meta)
      handlers.set(name, fn)
      if (metaCheck !== undefined) ctx.metaChecks!.set(name, metaCheck)
      return () => {
        if (handlers.get(name) !== fn) return
        handlers.delete(name)
        ctx.metaChecks?.delete(name)
      }
    },

    stats(session?: Session): SessionStreamStats {
      const target = session ?? kernel.session
      const mux = target ? muxes.of(target) : undefined
      if (!mux) {
        return {
          writers: 0,
          readers: 0,
          send: { sentOffset: 0, maxOffset: 0, window: 0 },
          receive: { receivedOffset: 0, consumedOffset: 0, unreadBytes: 0, maxOffset: ctx.options.connectionWindow, window: ctx.options.connectionWindow, rttMs: 0 },
          bufferedAmount: 0,
        }
      }
      return mux.stats()
    },

    list(session?: Session): SessionStreamList {
      const target = session ?? kernel.session
      const mux = target ? muxes.get(target) : undefined
      return mux ? mux.list() : { writers: [], readers: [] }
    },
  }
}

/** A stream's meta schema, compiled once (by the kernel's SchemaCompiler, one per kernel). */
function compileMeta(ctx: StreamsContext, name: string, schema: Schema | undefined): SchemaCheck | undefined {
  if (schema === undefined) return undefined
  try {
    return ctx.compiler!.compile(schema, 'meta')
  } catch (error) {
    throw streamsError(StreamsErrorCodes.E_CONFIG, `streams.handle('${name}', handler, { meta }): the meta schema is unusable: ${messageOf(error)}. Pass a JSON Schema object or a Standard Schema validator (zod, valibot, arktype).`, error)
  }
}

/** `session.openStream(name, meta, options)`: installed with `decorateSession`. */
export function createOpenStream(muxes: Muxes, maxNameLength: number) {
  return function openStream<T>(this: Session, name: string, meta?: unknown, options?: OpenOptions): Promise<StreamWriter<T>> {
    return open<T>(muxes, this, name, meta, options, maxNameLength)
  }
}
