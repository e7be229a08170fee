/**
 * The streaming halves of the requester and the responder: a streamed reply (`rpc.item`… `rpc.end`,
 * credit back with `rpc.credit`, its idle timeout), a streamed input (`rpc.in`… `rpc.inend`, credit
 * back with `rpc.incredit`) and a handler's streamed result. requester.ts and responder.ts keep the
 * unary calls and hand every streaming frame and value to these two classes, through the few
 * operations of theirs passed in (`CallerSide`, `HandlerSide`).
 *
 * Apart so that a build without streaming RPC can swap this module alone: the prebuilt core
 * browser bundle of @echostream/preset-browser resolves it to no-streaming.browser.ts (its
 * scripts/build.mjs; this package's `browser` field does not name it), which refuses each of
 * these calls with a coded error instead.
 */
import { EchoError, type SchemaCheck, type Session } from '@echostream/kernel'
import { CallStream } from './call-stream.js'
import type { CallContext } from './context.js'
import { Deadlines } from './deadlines.js'
import { rpcErrors } from './errors.js'
import { textOf } from './failure.js'
import { DEFAULT_WINDOW, RpcFrames } from './frames.js'
import type { IdTable } from './id-table.js'
import { ItemQueue } from './item-queue.js'
import { blockedOn, canSend, Producer } from './producer.js'
import { sendError, type Replies } from './replies.js'
import { IdleNode, type PendingCall, type SessionTable } from './session-state.js'

/** What the requester lends its streaming half. */
export interface CallerSide {
  /** The call is settled from now on: out of the pending table, its timers and signal released. */
  finish(call: PendingCall): void
  /** `finish`, and tell the peer (`rpc.cancel`) so its handler stops. */
  stop(call: PendingCall): void
  /** Rejects the call (or fails its stream) with `error`. */
  reject(call: PendingCall, error: EchoError): void
  /** The caller gave up (its signal, or it left its `for await` loop). */
  cancel(call: PendingCall): void
}

/** What `rpc.stream` returns when the call could not even start: its first read throws `error`. */
export function failedStream(error: EchoError): CallStream {
  const stream = new CallStream(DEFAULT_WINDOW, { credit() {}, cancel() {} })
  stream.fail(error)
  return stream
}

/** The caller's streams: streamed replies read by the caller, streamed inputs pulled within the responder's credit. */
export class CallerStreams {
  readonly #side: CallerSide
  readonly #idle: Deadlines<IdleNode>

  constructor(side: CallerSide) {
    this.#side = side
    this.#idle = new Deadlines(this.#onIdle)
  }

  /** The stream the caller reads the reply of `call` from (made up front by `rpc.stream`, or when the first item arrives). */
  open(call: PendingCall): CallStream {
    const side = this.#side
    return new CallStream(call.window, {
      credit: (maxOffset) => {
        if (call.done || !canSend(call.session)) return
        try {
          call.session.send({ kind: RpcFrames.credit, id: call.id, payload: maxOffset })
        } catch {
          // the session is closing: the call fails with it
        }
        this.#touchIdle(call)
      },
      cancel: () => side.cancel(call),
      // An item broke the call's `result` schema: the call is over, the peer's handler cancelled.
      invalid: (problems) => {
        const error = rpcErrors.invalidResult(call.method, problems, 'caller')
        if (!call.done) side.stop(call)
        call.stream?.failResult(error)
        return error
      },
    }, call.resultCheck)
  }

  /** `rpc.item`: one item of the reply of `call`, charged `size` bytes against the credit this side granted. */
  onItem(call: PendingCall, item: unknown, size: number): void {
    const stream = this.#started(call)
    if (!stream.queue.push(item, size)) {
      this.#side.stop(call)
      this.#side.reject(call, rpcErrors.flowControl(call.method, stream.queue.maxOffset))
      return
    }
    this.#touchIdle(call)
  }

  /** `rpc.end`: the streamed reply of `call` is complete; `value` is the handler's return value. */
  onEnd(call: PendingCall, value: unknown): void {
    const stream = this.#started(call)
    this.#side.finish(call)
    stream.settle(value)
  }

  /** `rpc.incredit` (checked by the requester): the responder may take more of the streamed input of `call`. */
  onInputCredit(call: PendingCall, maxOffset: number): void {
    call.input?.onCredit(maxOffset)
  }

  /** Sends the caller's async iterable as the params of `call` (`rpc.in`… `rpc.inend`). */
  pumpInput(call: PendingCall, iterator: AsyncIterator<unknown>): void {
    const session = call.session
    const state = call.state
    const side = this.#side
    const producer = new Producer(iterator, DEFAULT_WINDOW, {
      blocked: () => blockedOn(session, () => state.whenResumed()),
      // Charged what the kernel wrote: the encoded length of the message (wire contract 7).
      send: (item) => session.send({ kind: RpcFrames.input, id: call.id, payload: item }),
      end: () => {
        if (call.done || !canSend(session)) return
        try {
          session.send({ kind: RpcFrames.inputEnd, id: call.id })
        } catch {
          // closing: the call fails with the session
        }
      },
      fail: (error) => {
        if (call.done) return
        side.stop(call)
        side.reject(call, EchoError.is(error) ? error : rpcErrors.inputFailed(call.method, textOf(error), error))
      },
    })
    call.input = producer
    producer.start()
  }

  /** The call is settled: its idle timer goes. */
  unidle(node: IdleNode): void {
    this.#idle.remove(node)
  }

  dispose(): void {
    this.#idle.clear()
  }

  /** Idle timers armed. */
  get timers(): number {
    return this.#idle.timers
  }

  readonly #onIdle = (node: IdleNode): void => {
    const call = node.call
    if (call.done) return
    this.#side.stop(call)
    this.#side.reject(call, rpcErrors.idleTimeout(call.method, call.idleTimeoutMs))
  }

  /** The reply of `call` is a stream: its first frame arrived. Resolves `request()` with the stream. */
  #started(call: PendingCall): CallStream {
    let stream = call.stream
    if (stream === undefined) {
      stream = call.stream = this.open(call)
      call.resolve(stream)
    }
    if (!stream.started) {
      stream.started = true
      // The default deadline covers the wait for the reply to begin; a stream then runs on its idle timeout.
      if (!call.explicitTimeout && call.list !== undefined) call.list.unlink(call)
      if (call.idleTimeoutMs > 0) call.idle = new IdleNode(call)
    }
    return stream
  }

  /** (Re)starts the idle timer while the responder has credit to send with; pauses it while our reader holds the window. */
  #touchIdle(call: PendingCall): void {
    const idle = call.idle
    if (idle === undefined || call.done) return
    this.#idle.remove(idle)
    if (call.stream!.queue.senderHasCredit) this.#idle.add(idle, call.idleTimeoutMs)
  }
}

/** What the responder lends its streaming half. */
export interface HandlerSide {
  readonly table: SessionTable
  readonly replies: Replies
  /** The call is answered (or about to be): later frames for its id are ignored. */
  done(ctx: CallContext, running: IdTable<CallContext>): void
}

/** The handler's streams: a streamed input it reads, a streamed result it returns. */
export class HandlerStreams {
  readonly #side: HandlerSide

  constructor(side: HandlerSide) {
    this.#side = side
  }

  /** The handler's streamed params; each item is checked against the params schema as the handler reads it. */
  input(session: Session, id: number, method: string, check: SchemaCheck | undefined): ItemQueue {
    return new ItemQueue(DEFAULT_WINDOW, {
      credit: (maxOffset) => {
        if (!canSend(session)) return
        try {
          session.send({ kind: RpcFrames.inputCredit, id, payload: maxOffset })
        } catch {
          // closing: the call ends with the session
        }
      },
      // The handler stopped reading its input: what still arrives is dropped, no more credit is granted.
      cancel: () => {},
      // An input item broke the params schema: the call fails with E_INVALID_PARAMS (the handler's loop throws it too).
      invalid: (problems) => {
        const error = rpcErrors.invalidParams(method, problems)
        const state = this.#side.table.get(session)
        const ctx = state?.running.get(id)
        if (ctx !== undefined) {
          state!.running.delete(id)
          ctx.abort(error)
          sendError(session, id, error.toWire())
        }
        return error
      },
    }, check)
  }

  /** `rpc.in`: one item of the caller's streamed input to `ctx`, charged `size` bytes against the credit granted. */
  onInput(ctx: CallContext, item: unknown, size: number): void {
    const input = ctx.input
    if (input === undefined) throw rpcErrors.protocol(`'rpc.in' for call ${ctx.id}, which has no streamed input (its rpc.req had no meta.input).`)
    if (!input.push(item, size)) {
      this.#side.table.get(ctx.session)?.running.delete(ctx.id)
      const error = rpcErrors.flowControl(ctx.method, input.maxOffset)
      ctx.abort(error)
      sendError(ctx.session, ctx.id, error.toWire())
    }
  }

  /** `rpc.credit` (checked by the responder): the caller consumed some of the streamed result of `ctx`; the handler's generator may run on. */
  onCredit(ctx: CallContext, maxOffset: number): void {
    ctx.output?.onCredit(maxOffset)
  }

  /** The handler returned an async iterable: send its items within the caller's credit, then `rpc.end`. */
  output(ctx: CallContext, iterable: AsyncIterable<unknown>, running: IdTable<CallContext>): void {
    const { table, replies, done } = this.#side
    let iterator: AsyncIterator<unknown>
    try {
      iterator = iterable[Symbol.asyncIterator]()
    } catch (error) {
      done(ctx, running)
      return replies.failure(ctx, error)
    }
    if (running.get(ctx.id) !== ctx) running.set(ctx.id, ctx)
    const { session, id } = ctx
    const state = table.open(session)
    const producer = new Producer(iterator, ctx.window, {
      blocked: () => blockedOn(session, () => state.whenResumed()),
      prepare: ctx.resultCheck === undefined ? undefined : (item) => replies.item(ctx, item),
      // Charged what the kernel wrote: the encoded length of the message (wire contract 7).
      send: (item) => session.send({ kind: RpcFrames.item, id, payload: item }),
      end: (value) => {
        done(ctx, running)
        if (!ctx.aborted) replies.result(ctx, value, RpcFrames.end)
      },
      fail: (error) => {
        done(ctx, running)
        if (!ctx.aborted) replies.failure(ctx, error)
      },
    })
    ctx.output = producer
    producer.start()
  }
}
