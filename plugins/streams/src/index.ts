import { defineHandler, definePlugin, SchemaCompiler, Stage, type Frame, type HandlerDefinition, type SchemaCheck, type Session, type KernelApi } from '@echostream/kernel'
import { createOpenStream, createStreamsApi, Muxes } from './api.js'
import { streamsError, StreamsErrorCodes } from './errors.js'
import { StreamFrames, STREAMS_WIRE_VERSION } from './frames.js'
import type { StreamMux, StreamsContext } from './mux.js'
import { schema, type StreamsOptions } from './options.js'
import type { OpenOptions, StreamHandleOptions, StreamHandler, StreamsApi } from './types.js'
import type { StreamWriter } from './writer.js'
import { version } from './version.js'

const PLUGIN_NAME = 'streams'

declare module '@echostream/kernel' {
  interface KernelApi {
    streams: StreamsApi
  }
  interface Session {
    /**
     * Opens a stream to this session's peer (on a server: to that client) and resolves with its
     * writer once the peer accepted. Rejects with the peer's refusal (E_NO_HANDLER…), E_TIMEOUT or E_CLOSED.
     */
    openStream<T = unknown>(name: string, meta?: unknown, options?: OpenOptions): Promise<StreamWriter<T>>
  }
}

/**
 * Named, multiplexed, time-stamped streams both ways with credit-based flow control. Provides the
 * `streams` capability, exposes `kernel.streams`, adds `session.openStream` and handles
 * `defineStream(name, handler)` handler modules.
 */
export default definePlugin<StreamsOptions, Pick<KernelApi, 'streams'>>({
  name: PLUGIN_NAME,
  version,
  kernel: '^1',
  provides: ['streams'],
  requires: ['transport', 'codec'],
  optional: ['clock'],
  wire: STREAMS_WIRE_VERSION,
  schema,
  setup(kernel, options) {
    checkWindows(options)
    // `setup` gets the kernel itself: hot paths read `kernel.codec`/`kernel.clock` per frame.
    const raw = kernel
    const handlers = new Map<string, StreamHandler>()
    const metaChecks = new Map<string, SchemaCheck>()
    const ctx: StreamsContext = { kernel: raw, options, handlers, metaChecks, compiler: new SchemaCompiler(), logger: kernel.logger }
    const muxes = new Muxes(ctx)
    const api = createStreamsApi(raw, ctx, handlers, muxes)
    kernel.expose('streams', api)
    kernel.decorateSession('openStream', createOpenStream(muxes, options.maxNameLength))

    // Each route finds the session's mux and hands it the frame; built once here, nothing is allocated per frame.
    // A fenced mux (a resume on another server, mux.ts) drops everything but the peer's fence.
    const onError = (error: Parameters<StreamMux['onErrorFrame']>[0], id: number | undefined, session: Session) => {
      const mux = muxes.of(session)
      if (mux && !mux.fenced) mux.onErrorFrame(error, id)
    }
    const on = (dispatch: (mux: StreamMux, frame: Frame) => void) => ({
      handler(frame: Frame, session: Session) {
        const mux = muxes.of(session)
        if (mux && !mux.fenced) dispatch(mux, frame)
      },
      onError,
    })
    kernel.route(StreamFrames.open, on((mux, frame) => mux.onOpen(frame)))
    kernel.route(StreamFrames.accept, on((mux, frame) => mux.onAccept(frame)))
    kernel.route(StreamFrames.data, {
      // The hot path: the charge is the size of the message that carried the frame (wire 2).
      handler(frame: Frame, session: Session, size: number) {
        const mux = muxes.of(session)
        if (mux && !mux.fenced) mux.onData(frame, size)
      },
      onError,
    })
    kernel.route(StreamFrames.credit, on((mux, frame) => mux.onCredit(frame)))
    kernel.route(StreamFrames.connCredit, on((mux, frame) => mux.onConnCredit(frame)))
    kernel.route(StreamFrames.blocked, on((mux, frame) => mux.onBlocked(frame)))
    kernel.route(StreamFrames.connBlocked, on((mux, frame) => mux.onConnBlocked(frame)))
    kernel.route(StreamFrames.end, on((mux, frame) => mux.onEnd(frame)))
    kernel.route(StreamFrames.abort, on((mux, frame) => mux.onAbort(frame)))
    kernel.route(StreamFrames.fence, {
      handler(frame: Frame, session: Session) {
        muxes.of(session)?.onFence(frame)
      },
    })

    // Early, so streams fail with E_CLOSED before other plugins' disconnect taps run.
    kernel.hooks.disconnect.tap({ name: PLUGIN_NAME, stage: Stage.EARLY }, (session: Session, info: { code: number; reason: string }) => {
      muxes.close(session, `The connection closed (${info.code}${info.reason ? `: ${info.reason}` : ''}); every stream of the session is aborted. Open new streams once reconnected.`)
    })

    // Which server-side stream state a session has: a resume on the same server keeps it (same
    // epoch); a resume on another server (cluster takeover) starts without it (new epoch), and the
    // client must then drop its streams rather than wait for credit that can never come. Both
    // sides then also fence off the frames of the old streams that are replayed to the new server
    // and from it (README "Across a takeover"), when the client announced it can (`hello.streams.fence`).
    const epochs = new WeakMap<Session, string>()
    const epochOf = (session: Session) => (session.handshake as { streams?: { epoch?: unknown } } | undefined)?.streams?.epoch
    if (kernel.role === 'server') {
      // Late: after reconnect's tap, which says whether the resume is recovered.
      kernel.hooks.welcome.tap({ name: PLUGIN_NAME, stage: Stage.LATE }, (welcome, session) => {
        let epoch = epochs.get(session)
        if (epoch) return { ...welcome, streams: { epoch } }
        epochs.set(session, (epoch = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}`))
        // A recovered resume that is new here: the session's streams stayed on the server it left.
        const recovered = (welcome as { resume?: { recovered?: unknown } }).resume?.recovered === true
        const canFence = (session.handshake as { streams?: { fence?: unknown } } | undefined)?.streams?.fence === true
        if (!recovered || !canFence) return { ...welcome, streams: { epoch } }
        muxes.fence(session, epoch)
        return { ...welcome, streams: { epoch, fence: true } }
      })
    } else {
      kernel.hooks.hello.tap(PLUGIN_NAME, (hello) => ({ ...hello, streams: { fence: true } }))
      kernel.hooks.connect.tap(PLUGIN_NAME, (session: Session) => {
        const epoch = epochOf(session)
        if (typeof epoch === 'string') epochs.set(session, epoch)
      })
    }

    // Late, after reconnect's own tap has replayed what was in flight: our re-announced credit and
    // any end/abort that waited must follow the replayed data.
    kernel.hooks.resumed.tap({ name: PLUGIN_NAME, stage: Stage.LATE }, (session: Session) => {
      if (kernel.role === 'client') {
        const before = epochs.get(session)
        const now = epochOf(session)
        if (typeof now === 'string') epochs.set(session, now)
        // The server fences when it is new to a recovered session (above): so does the client then.
        const fence = typeof now === 'string' && (session.handshake as { streams?: { fence?: unknown } }).streams?.fence === true
        if (fence || (before !== undefined && typeof now === 'string' && now !== before)) {
          muxes.close(session, 'The session resumed on another server, which does not have its streams: every stream was aborted. Open new ones (resume a transfer from the offset the receiver acknowledged).')
          if (fence) muxes.fence(session, now)
          return
        }
      }
      muxes.get(session)?.resumed()
    })

    kernel.registerHandlerKind('stream', (definition: HandlerDefinition) => {
      if (typeof definition.handler !== 'function') {
        throw streamsError(StreamsErrorCodes.E_CONFIG, `defineStream('${definition.name}', handler): the handler must be a function.`)
      }
      api.handle(definition.name, definition.handler as StreamHandler, definition.options as StreamHandleOptions)
    })

    return () => {
      muxes.closeAll('The streams plugin was unloaded or the kernel stopped.')
      handlers.clear()
      metaChecks.clear()
    }
  },
})

/** The window options must nest: streamWindow <= connectionWindow <= maxConnectionWindow, streamWindow <= maxStreamWindow <= maxConnectionWindow. */
function checkWindows(options: StreamsOptions): void {
  const rules: Array<[keyof StreamsOptions, keyof StreamsOptions]> = [
    ['connectionWindow', 'streamWindow'],
    ['maxStreamWindow', 'streamWindow'],
    ['maxConnectionWindow', 'connectionWindow'],
    ['maxConnectionWindow', 'maxStreamWindow'],
  ]
  for (const [larger, smaller] of rules) {
    if (options[larger] < options[smaller]) {
      throw streamsError(StreamsErrorCodes.E_CONFIG, `options.streams.${larger} (${options[larger]}) must be at least ${smaller} (${options[smaller]}); raise ${larger} or lower ${smaller}.`)
    }
  }
}

/** A stream handler for a handler module (`handlers: ['./streams/audio.ts']` in the config). */
export function defineStream<T = any, M = any>(name: string, handler: StreamHandler<T, M>, options: StreamHandleOptions = {}): HandlerDefinition<'stream', StreamHandler<T, M>, StreamHandleOptions> {
  return defineHandler('stream', name, handler, options)
}

export { schema, type StreamsOptions } from './options.js'
export { StreamFrames, STREAMS_WIRE_VERSION } from './frames.js'
export { FRAME_OVERHEAD } from './byte-size.js'
export { FRAME_BOOKKEEPING } from './window.js'
export { StreamsErrorCodes, type StreamsErrorCode } from './errors.js'
export { StreamWriter } from './writer.js'
export { StreamReader } from './reader.js'
export { StreamPlayout, type StreamPlayoutOptions } from './stream-playout.js'
export { localNow, type StreamClock } from './clock.js'
export type { NodeReadableOptions, NodeWritableOptions, WebReadableOptions, WebWritableOptions } from './adapters.js'
export { JitterBuffer, playout } from './jitter/index.js'
export type { JitterBufferOptions, JitterEvent, JitterFrame, JitterMetrics, PushResult, PlayoutOptions } from './jitter/index.js'
export type {
  StreamFrame,
  StreamPolicy,
  OpenOptions,
  WriteOptions,
  StreamContext,
  StreamHandleOptions,
  StreamHandler,
  StreamsApi,
  WriterState,
  ReaderState,
  WriterStats,
  ReaderStats,
  SessionStreamStats,
  SessionStreamList,
} from './types.js'

declare module '@echostream/kernel' {
  /** For configs that name this plugin by string: the API it adds (see the kernel's config-types.ts). */
  interface PluginApis {
    '@echostream/plugin-streams': Pick<KernelApi, 'streams'>
  }
}
