/**
 * What the snapshot needs that no other part of the server keeps: per-session frame counts, call
 * and frame rates, and the recent errors. Counting is on the hot path (an inbound and a `sent` tap
 * per frame), so it is a WeakMap lookup and a few additions; rates are one-second buckets rolled
 * by a timer (no clock read per frame). Memory is bounded: methods past MAX_METHODS count as
 * 'other', errors are a ring of `maxErrors`, a closed session's counters go with it.
 */
import type { DevtoolsError, DevtoolsSession, Frame, Session } from '@echostream/kernel'

/** Rates are averaged over the last WINDOW complete seconds. */
export const WINDOW = 5
const SLOTS = WINDOW + 1
const MAX_METHODS = 200
const MAX_TEXT = 300

/** A count and its per-second rate over the last WINDOW seconds (buckets rolled by `tick`). */
export class RateMeter {
  total = 0
  readonly #buckets = new Float64Array(SLOTS)
  #slot = 0

  add(n: number): void {
    this.#buckets[this.#slot] += n
    this.total += n
  }

  tick(): void {
    this.#slot = (this.#slot + 1) % SLOTS
    this.#buckets[this.#slot] = 0
  }

  /** The average over the complete buckets (the current one is still filling). */
  perSec(): number {
    let sum = 0
    for (let i = 0; i < SLOTS; i++) if (i !== this.#slot) sum += this.#buckets[i]!
    return sum / WINDOW
  }
}

/** A session's counters, as its snapshot entry carries them. */
export type SessionCounters = Pick<DevtoolsSession, 'calls' | 'events' | 'framesIn' | 'framesOut' | 'bytesIn' | 'bytesOut'>

export class Collector {
  readonly calls = new RateMeter()
  readonly events = new RateMeter()
  readonly framesIn = new RateMeter()
  readonly framesOut = new RateMeter()
  readonly bytesIn = new RateMeter()
  readonly bytesOut = new RateMeter()
  readonly methods = new Map<string, RateMeter>()
  errorsTotal = 0
  readonly #perSession = new WeakMap<Session, SessionCounters>()
  readonly #errors: DevtoolsError[] = []
  #next = 0

  constructor(readonly maxErrors: number) {}

  /** The last session counted and its counters: consecutive frames are mostly one session's (a WeakMap lookup saved). */
  #lastSession: Session | undefined
  #lastCounters: SessionCounters | undefined

  of(session: Session): SessionCounters {
    if (session === this.#lastSession) return this.#lastCounters!
    let c = this.#perSession.get(session)
    if (c === undefined) this.#perSession.set(session, (c = { calls: 0, events: 0, framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0 }))
    this.#lastSession = session
    this.#lastCounters = c
    return c
  }

  inbound(frame: Frame, session: Session, size: number): void {
    const c = this.of(session)
    c.framesIn++
    c.bytesIn += size
    this.framesIn.add(1)
    this.bytesIn.add(size)
    const kind = frame.kind
    if (kind === 'rpc.req') {
      c.calls++
      this.calls.add(1)
      this.#method(frame.name).add(1)
    } else if (kind === 'events.emit') {
      c.events++
      this.events.add(1)
    }
  }

  sent(frame: Frame, session: Session, size: number): void {
    const c = this.of(session)
    c.framesOut++
    c.bytesOut += size
    this.framesOut.add(1)
    this.bytesOut.add(size)
    if (frame.kind === 'rpc.err') {
      const p = frame.payload as { code?: unknown; message?: unknown } | null
      this.error({ source: 'rpc', code: p?.code, message: p?.message }, session)
    }
  }

  error(e: { source: DevtoolsError['source']; code: unknown; message: unknown }, session?: Session): void {
    this.errorsTotal++
    const entry: DevtoolsError = { at: Date.now(), source: e.source, code: clip(e.code, 'E_UNKNOWN', 60), message: clip(e.message, '', MAX_TEXT) }
    if (session) {
      if (session.id) entry.session = session.id
      entry.peer = session.peer
    }
    if (this.#errors.length < this.maxErrors) this.#errors.push(entry)
    else this.#errors[this.#next] = entry
    this.#next = (this.#next + 1) % this.maxErrors
  }

  /** Newest first. */
  recentErrors(): DevtoolsError[] {
    const n = this.#errors.length
    const out: DevtoolsError[] = []
    for (let i = 1; i <= n; i++) out.push(this.#errors[(this.#next - i + n * 2) % n]!)
    return out
  }

  tick(): void {
    // Once a second, drop the one-entry cache too, so a closed session is not held past it.
    this.#lastSession = this.#lastCounters = undefined
    this.calls.tick()
    this.events.tick()
    this.framesIn.tick()
    this.framesOut.tick()
    this.bytesIn.tick()
    this.bytesOut.tick()
    for (const m of this.methods.values()) m.tick()
  }

  #method(name: unknown): RateMeter {
    let method = typeof name === 'string' ? name.slice(0, 100) : 'other'
    let m = this.methods.get(method)
    if (m === undefined) {
      // A peer picks method names: past MAX_METHODS they share one 'other' entry.
      if (this.methods.size >= MAX_METHODS) m = this.methods.get((method = 'other'))
      if (m === undefined) this.methods.set(method, (m = new RateMeter()))
    }
    return m
  }
}

function clip(value: unknown, fallback: string, max: number): string {
  return typeof value === 'string' ? value.slice(0, max) : fallback
}
