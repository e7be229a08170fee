/**
 * What a node keeps per session so that another node can continue it: counters that match
 * reconnect's exactly (same frames counted: all but `reconnect.ack` and the volatile kinds), and
 * in Redis the state hash, the replay log and the RPC result cache.
 *
 * Outbound: each counted frame is appended to the session's log (a command written to Redis before
 * the frame is encoded and written to the client), so the log never lags behind what the client
 * can have received. Inbound: each counted frame is claimed (the count, and an RPC id marked
 * running) before any handler sees it, so the count another node resumes from never lags behind
 * what was handled here: no frame is handled twice.
 */
import type { Frame, Session } from '@echostream/kernel'

/** An RPC request id of this session: running here, running on a node that died, or answered (the reply's bytes). */
export type RpcEntry = { state: 'running' } | { state: 'interrupted'; method: string } | { state: 'answered'; bytes: Uint8Array; seq: number }

export interface TrackedSession {
  readonly session: Session
  /** The session id in Redis (equal to `session.id` once connected). */
  id: string
  gen: number
  epoch: string
  /** Frames counted as sent to / received from the client (the same numbers reconnect keeps). */
  sent: number
  received: number
  /** Its state hash is in Redis (every session: routing finds its node there). */
  stored: boolean
  /** The session is resumable on other nodes (reconnect gave it a token): its log and claims are in Redis too. */
  persist: boolean
  /** A command failed while the broker was away: the Redis state must be written again when it is back. */
  dirty: boolean
  /** Another node took the session over: this node leaves Redis alone. */
  moved: boolean
  token: string
  rpc: Map<number, RpcEntry>
  /** Result frames sent, oldest first, to forget cached results the client acknowledged. */
  answered: Array<{ seq: number; id: number }>
  /** The last `session.data` snapshot written (to skip unchanged ones). */
  dataSnapshot: Buffer | undefined
  user: string | undefined
  /** Why a resume asked for in `hello` did not happen (reported in `welcome.cluster`). */
  resumeFailure: string | undefined
  /** Set between a takeover and the replay that follows `welcome`. */
  adoption: Adoption | undefined
  /** A room event already appended to the log for this session (by `appendMany`), about to be sent. */
  preLogged: { frame: object; seq: number } | undefined
  /** Frames from the client that the node that died had claimed but maybe not handled. */
  inDoubt: { from: number; to: number } | undefined
}

export interface Adoption {
  /** Log entries after the client's count, in order (wire bytes). */
  entries: Uint8Array[]
  /** Rooms the session was in, with the last offset it got in each (`epoch:offset`; '' if none yet). */
  rooms: Map<string, string>
  /** Its position in the broadcast channel. */
  broadcast: string
  /** Client requests that were running on the node that died. */
  interrupted: Array<{ id: number; method: string }>
}

/** What the outbound tap needs to know about a frame a room delivery is sending. */
export interface DeliveryContext {
  session: Session | undefined
  /** `ro:<room>` or `bo`, and `epoch:offset`. */
  field: string
  value: string
}

export const RPC_REQUEST = 'rpc.req'
const RPC_REPLIES = new Set(['rpc.res', 'rpc.err'])

export function isRpcReply(frame: Frame): boolean {
  return RPC_REPLIES.has(frame.kind) && typeof frame.id === 'number'
}

export function newTracked(session: Session): TrackedSession {
  return {
    session,
    id: session.id,
    gen: 1,
    epoch: '',
    sent: 0,
    received: 0,
    stored: false,
    persist: false,
    dirty: false,
    moved: false,
    token: '',
    rpc: new Map(),
    answered: [],
    dataSnapshot: undefined,
    user: undefined,
    resumeFailure: undefined,
    adoption: undefined,
    inDoubt: undefined,
    preLogged: undefined,
  }
}

/** Parses the flat HGETALL reply of a session's state (Buffers) into a map of strings (and raw `data`). */
export function parseState(flat: unknown[]): { fields: Map<string, string>; data: Buffer | undefined } {
  const fields = new Map<string, string>()
  let data: Buffer | undefined
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const key = String(flat[i])
    const value = flat[i + 1] as Buffer
    if (key === 'data') data = value
    else fields.set(key, Buffer.isBuffer(value) ? value.toString() : String(value))
  }
  return { fields, data }
}

/** Parses the RPC cache hash: running markers are `r:<method>`, anything else is a reply's bytes. */
export function parseRpc(flat: unknown[]): { running: Array<{ id: number; method: string }>; answered: Map<number, Uint8Array> } {
  const running: Array<{ id: number; method: string }> = []
  const answered = new Map<number, Uint8Array>()
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const id = Number(String(flat[i]))
    const value = flat[i + 1] as Buffer
    if (!Number.isSafeInteger(id)) continue
    if (value.length >= 2 && value[0] === 0x72 && value[1] === 0x3a) running.push({ id, method: value.toString('utf8', 2) })
    else answered.set(id, new Uint8Array(value))
  }
  return { running, answered }
}
