/**
 * RPC latency from the frames alone (no seam in the rpc plugin): an `rpc.req` arriving starts a
 * timer under its id, the reply this server sends with that id (`rpc.res`, `rpc.err`, or `rpc.end`
 * for a streamed result) stops it. Ids are per session and direction, so the server's own requests
 * to clients never mix in. A peer cannot grow the table without bound: the rpc plugin refuses
 * calls past `maxConcurrent` (with an `rpc.err` that clears the entry), and past MAX_OPEN per
 * session calls go untimed.
 */
import type { Frame, Session } from '@echostream/kernel'
import type { Histogram } from 'prom-client'

const MAX_OPEN = 10_000
/** Method names are the peer's choice: clip them, and past this many distinct methods count as 'other'. */
const MAX_METHODS = 500

interface Open {
  method: string
  startUs: number
}

export class RpcTimer {
  readonly #open = new WeakMap<Session, Map<number, Open>>()
  readonly #methods = new Set<string>()

  constructor(readonly histogram: Histogram<'method' | 'code'>) {}

  inbound(frame: Frame, session: Session, nowUs: number): void {
    if (typeof frame.id !== 'number') return
    if (frame.kind === 'rpc.req') {
      let open = this.#open.get(session)
      if (!open) this.#open.set(session, (open = new Map()))
      if (open.size < MAX_OPEN && typeof frame.name === 'string') open.set(frame.id, { method: this.#method(frame.name), startUs: nowUs })
    } else if (frame.kind === 'rpc.cancel') this.#open.get(session)?.delete(frame.id)
  }

  /** A frame this server sent: stops a timer on a reply; for an `rpc.err`, returns its code and the call's method. */
  sent(frame: Frame, session: Session, nowUs: number): { code: string; method: string | undefined } | undefined {
    const kind = frame.kind
    if (kind !== 'rpc.res' && kind !== 'rpc.err' && kind !== 'rpc.end') return undefined
    const code = kind === 'rpc.err' ? codeOf(frame.payload) : undefined
    const open = this.#open.get(session)
    const call = typeof frame.id === 'number' ? open?.get(frame.id) : undefined
    if (call) {
      open!.delete(frame.id as number)
      this.histogram.observe({ method: call.method, code: code ?? 'ok' }, Math.max(0, nowUs - call.startUs) / 1e6)
    }
    return code === undefined ? undefined : { code, method: call?.method }
  }

  forget(session: Session): void {
    this.#open.delete(session)
  }

  #method(name: string): string {
    const method = name.length > 100 ? name.slice(0, 100) : name
    if (this.#methods.has(method)) return method
    if (this.#methods.size >= MAX_METHODS) return 'other'
    this.#methods.add(method)
    return method
  }
}

function codeOf(payload: unknown): string {
  const code = (payload as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code.slice(0, 40) : 'E_UNKNOWN'
}
