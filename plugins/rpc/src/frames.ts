/**
 * The rpc plugin's frame kinds (wire version 1, documented in README.md "Wire frames" and in the
 * kernel's PROTOCOL.md). Ids are per session and per direction: the requester counts them, replies
 * and cancels carry the request's id.
 */
export const RpcFrames = {
  /** requester → responder: `id`, `name` = method, `payload` = params, `meta` = `{ timeoutMs }` optional. */
  request: 'rpc.req',
  /** responder → requester: `id`, `payload` = result. */
  result: 'rpc.res',
  /** responder → requester: `id`, `payload` = `{ code, message, data? }`. */
  error: 'rpc.err',
  /** requester → responder: `id`; the handler's signal aborts and no reply is expected. */
  cancel: 'rpc.cancel',
} as const

export const RPC_WIRE_VERSION = 1

/** After this id the counter starts again at 1 (skipping ids still waiting), keeping ids small integers. */
export const MAX_ID = 0x3fffffff

/** A request id as it may arrive from the network: a non-negative safe integer. */
export function isId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

/** A short, safe description of an untrusted value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'nil'
  if (value === undefined) return 'nothing'
  if (typeof value === 'string') return `a string of length ${value.length}`
  if (typeof value === 'number') return Number.isFinite(value) ? `the number ${value}` : 'a non-finite number'
  if (ArrayBuffer.isView(value)) return 'binary'
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`
}
