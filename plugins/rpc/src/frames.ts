/**
 * The rpc plugin's frame kinds (wire version 2, documented in README.md "Wire frames" and in the
 * kernel's PROTOCOL.md). Ids are per session and per direction: the requester counts them; every
 * other frame of a call carries the request's id.
 */
export const RpcFrames = {
  /** requester → responder: `id`, `name` = method, `payload` = params, `meta` = `{ timeoutMs?, window?, input? }` optional. */
  request: 'rpc.req',
  /** responder → requester: `id`, `payload` = result. Ends a unary call. */
  result: 'rpc.res',
  /** responder → requester: `id`, `payload` = `{ code, message, data? }`. Ends any call. */
  error: 'rpc.err',
  /** requester → responder: `id`; the handler's signal aborts and no reply is expected. */
  cancel: 'rpc.cancel',
  /** responder → requester: `id`, `payload` = one item of a streamed result (within the caller's credit). */
  item: 'rpc.item',
  /** responder → requester: `id`, `payload` = the stream's return value. Ends a streaming call. */
  end: 'rpc.end',
  /** requester → responder: `id`, `payload` = new credit limit for `rpc.item` bytes (absolute). */
  credit: 'rpc.credit',
  /** requester → responder: `id`, `payload` = one item of the streamed input (within the responder's credit). */
  input: 'rpc.in',
  /** requester → responder: `id`; the streamed input is complete. */
  inputEnd: 'rpc.inend',
  /** responder → requester: `id`, `payload` = new credit limit for `rpc.in` bytes (absolute). */
  inputCredit: 'rpc.incredit',
} as const

/** 2: streaming calls (`rpc.item`, `rpc.end`, `rpc.credit`, `rpc.in`, `rpc.inend`, `rpc.incredit`). */
export const RPC_WIRE_VERSION = 2

/**
 * The credit each side starts a stream with, in bytes of encoded messages, unless the receiver
 * said otherwise (`meta.window` of `rpc.req` for results). 64 KiB, as streams' per-stream window:
 * enough for ~1,000 small items in flight, little enough that a stalled reader costs nothing.
 */
export const DEFAULT_WINDOW = 65_536

/** After this id the counter starts again at 1 (skipping ids still waiting), keeping ids small integers. */
export const MAX_ID = 0x3fffffff

/** A request id as it may arrive from the network: a non-negative safe integer. */
export function isId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

/** A credit limit from the network: a non-negative safe integer of bytes. */
export function isOffset(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}
