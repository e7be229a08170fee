/**
 * Receiver-side jitter buffer (REALTIME.md, "Jitter buffer"). Pure and deterministic: time comes
 * from the injected `now()`, nothing here touches timers or the network. Drive it from a timer
 * (`pop()` then sleep until `nextDueAt()`) or with `playout()` from `./playout.js`.
 *
 * Timing model. Every frame plays at `toLocal(wallTime) + offset`. With `adaptive`, the offset is
 * `base + D`: `base` is the fastest transit (arrival − toLocal(wallTime)) in the sample window and
 * D covers the chosen percentile of the spread above it, as NetEq's relative delay does. Measuring
 * above the fastest transit means a constant path delay, a clock-sync residual or a slow drift
 * moves `base` and not D. The offset rises at once and falls at most `shrinkMsPerSecond`, so it is
 * a continuous function of time between pushes; `dueAt()` solves for the instant a frame's playout
 * time is reached, and `pop()` and `nextDueAt()` share it so a caller that sleeps until
 * `nextDueAt()` always gets the frame (no float mismatch between the two).
 */
import { SampleWindow } from './sample-window.js'
import type { JitterBufferOptions, JitterEvent, JitterFrame, JitterMetrics, PushResult } from './types.js'

const US_PER_MS = 1000
/** Delivered seqs remembered to tell a late duplicate from a frame that missed its slot. */
const DELIVERED_MEMORY = 1024
/**
 * How far above the point estimate of the percentile D aims, in binomial standard deviations. A
 * plain nearest-rank p95 over 250 samples is exceeded by 5 % of frames on average (measured
 * 4.5–5.3 % with exponential jitter, seeds 1–5), so a "≤ 5 % late" promise would be a coin toss;
 * one σ (~3 ranks of 250, the 96th percentile) measured 3.5–3.7 % for ~7 ms more delay.
 */
const PERCENTILE_CONFIDENCE_Z = 1

interface Slot<T> {
  readonly frame: JitterFrame<T>
  /** toLocal(wallTime), taken once at push so a later clock-sync correction cannot reorder slots. */
  readonly local: number
  readonly arrival: number
}

interface Counts {
  delivered: number
  lateDrops: number
  gaps: number
  duplicates: number
  reorders: number
  overflowDrops: number
  invalid: number
}

function identity(us: number): number {
  return us
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x))
}

function checkNonNegative(name: string, value: number): number {
  if (!(Number.isFinite(value) && value >= 0)) {
    throw new RangeError(`JitterBuffer option ${name} must be a finite number >= 0, got ${value}`)
  }
  return value
}

export class JitterBuffer<T> {
  readonly #now: () => number
  readonly #toLocal: (wallTimeUs: number) => number
  readonly #initialUs: number
  readonly #minUs: number
  readonly #maxUs: number
  readonly #capacityUs: number
  readonly #maxFrames: number
  /** Shrink rate as µs of offset per µs of time. */
  readonly #shrinkRate: number
  readonly #percentile: number
  readonly #adaptive: boolean

  /** Buffered frames, ascending seq. */
  readonly #slots: Slot<T>[] = []
  /** Next seq owed to the consumer; undefined until the first release (no known start before). */
  #nextSeq: number | undefined
  /** Seqs below this are refused: their slot passed, or they were dropped for capacity. */
  #floorSeq = Number.NEGATIVE_INFINITY
  #highestSeq = Number.NEGATIVE_INFINITY
  readonly #delivered = new Set<number>()
  readonly #deliveredRing: number[] = []
  #deliveredNext = 0

  readonly #transit: SampleWindow
  readonly #residence: SampleWindow
  /** Offset (µs) as of `#offsetTime`; undefined until the first transit sample. */
  #offset: number | undefined
  #offsetTime = 0
  /** Offset the shrink is heading to (µs): base + clamped spread. */
  #target = 0

  readonly #counts: Counts = { delivered: 0, lateDrops: 0, gaps: 0, duplicates: 0, reorders: 0, overflowDrops: 0, invalid: 0 }
  readonly #listeners = new Set<() => void>()

  constructor(options: JitterBufferOptions) {
    this.#now = options.now
    this.#toLocal = options.toLocal ?? identity
    this.#initialUs = checkNonNegative('initialDelayMs', options.initialDelayMs ?? 80) * US_PER_MS
    this.#minUs = checkNonNegative('minDelayMs', options.minDelayMs ?? 20) * US_PER_MS
    this.#maxUs = checkNonNegative('maxDelayMs', options.maxDelayMs ?? 500) * US_PER_MS
    if (this.#minUs > this.#maxUs) throw new RangeError('JitterBuffer option minDelayMs must not exceed maxDelayMs')
    this.#capacityUs = checkNonNegative('capacityMs', options.capacityMs ?? 2000) * US_PER_MS
    this.#maxFrames = Math.max(1, Math.floor(checkNonNegative('maxFrames', options.maxFrames ?? 4096)))
    this.#shrinkRate = checkNonNegative('shrinkMsPerSecond', options.shrinkMsPerSecond ?? 10) / US_PER_MS
    this.#percentile = options.percentile ?? 0.95
    if (!(this.#percentile > 0 && this.#percentile <= 1)) throw new RangeError('JitterBuffer option percentile must be in (0, 1]')
    const historySize = options.historySize ?? 250
    this.#transit = new SampleWindow(historySize)
    this.#residence = new SampleWindow(historySize)
    this.#adaptive = options.adaptive ?? true
  }

  /** The injected clock (µs), so drivers need not be handed it twice. */
  now(): number {
    return this.#now()
  }

  push(frame: JitterFrame<T>): PushResult {
    const { seq } = frame
    const local = Number.isFinite(frame.wallTime) ? this.#toLocal(frame.wallTime) : Number.NaN
    if (!Number.isSafeInteger(seq) || !Number.isFinite(local)) {
      this.#counts.invalid++
      return 'invalid'
    }
    const now = this.#now()
    const index = this.#indexOf(seq)
    if (this.#slots[index]?.frame.seq === seq || (seq < this.#floorSeq && this.#delivered.has(seq))) {
      // A copy says nothing new about the path (often a retransmission), so no transit sample.
      this.#counts.duplicates++
      return 'duplicate'
    }
    if (seq < this.#highestSeq) this.#counts.reorders++
    else this.#highestSeq = seq
    // Sample before the lateness check: late frames are the evidence that D must grow.
    this.#observe(now, now - local)
    if (seq < this.#floorSeq || this.#dueAt(local) < now) {
      this.#counts.lateDrops++
      return 'late'
    }
    this.#slots.splice(index, 0, { frame, local, arrival: now })
    const droppedSelf = this.#enforceCapacity(seq)
    if (droppedSelf) return 'overflow'
    for (const listener of this.#listeners) listener()
    return 'accepted'
  }

  /** Releases, in seq order, every frame due now, with a gap event before any skipped seqs. */
  pop(): JitterEvent<T>[] {
    const now = this.#now()
    const events: JitterEvent<T>[] = []
    while (this.#slots.length > 0) {
      const head = this.#slots[0]
      const dueAt = this.#dueAt(head.local)
      if (dueAt > now) break
      this.#slots.shift()
      const { seq } = head.frame
      if (this.#nextSeq !== undefined && seq > this.#nextSeq) {
        const count = seq - this.#nextSeq
        this.#counts.gaps += count
        events.push({ kind: 'gap', gap: { seq: this.#nextSeq, count } })
      }
      this.#nextSeq = seq + 1
      this.#floorSeq = Math.max(this.#floorSeq, seq + 1)
      this.#rememberDelivered(seq)
      this.#counts.delivered++
      this.#residence.push(now - head.arrival)
      events.push({ kind: 'frame', frame: head.frame, playoutAt: dueAt })
    }
    return events
  }

  /** Local µs at which the next frame is due (may be <= now: pop at once); undefined when empty. */
  nextDueAt(): number | undefined {
    const head = this.#slots[0]
    return head === undefined ? undefined : this.#dueAt(head.local)
  }

  /** Calls `listener` after every accepted push (a driver re-arms its timer). Returns the unsubscribe. */
  onPush(listener: () => void): () => void {
    this.#listeners.add(listener)
    return () => {
      this.#listeners.delete(listener)
    }
  }

  /**
   * Forgets buffered frames and seq history, keeping the delay estimate and the counters: for a
   * sender that restarted its seq numbering, whose frames would otherwise all be refused as late.
   */
  reset(): void {
    this.#slots.length = 0
    this.#nextSeq = undefined
    this.#floorSeq = Number.NEGATIVE_INFINITY
    this.#highestSeq = Number.NEGATIVE_INFINITY
    this.#delivered.clear()
    this.#deliveredRing.length = 0
    this.#deliveredNext = 0
  }

  metrics(): JitterMetrics {
    const now = this.#now()
    const base = this.#transit.min()
    const offset = this.#offsetAt(now)
    const adaptiveReady = this.#adaptive && base !== undefined && offset !== undefined
    const first = this.#slots[0]
    const last = this.#slots[this.#slots.length - 1]
    return {
      ...this.#counts,
      currentDelayMs: (adaptiveReady ? offset - base : this.#initialUs) / US_PER_MS,
      targetDelayMs: (adaptiveReady ? this.#target - base : this.#initialUs) / US_PER_MS,
      playoutOffsetMs: (this.#adaptive && offset !== undefined ? offset : this.#initialUs) / US_PER_MS,
      p95DelayMs: (this.#residence.quantile(0.95) ?? 0) / US_PER_MS,
      depth: this.#slots.length,
      depthMs: first !== undefined && last !== undefined ? (last.local - first.local) / US_PER_MS : 0,
    }
  }

  /** Insertion index for `seq` in the ascending slots. */
  #indexOf(seq: number): number {
    let lo = 0
    let hi = this.#slots.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.#slots[mid].frame.seq < seq) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** Adds a transit sample, moves the target, and lets the offset jump up to it at once. */
  #observe(now: number, transit: number): void {
    if (!this.#adaptive) return
    const current = this.#offsetAt(now)
    this.#transit.push(transit)
    // Both defined: the window now holds at least this sample.
    const base = this.#transit.min() ?? transit
    const spread = (this.#transit.quantile(this.#percentile, PERCENTILE_CONFIDENCE_Z) ?? transit) - base
    this.#target = base + clamp(spread, this.#minUs, this.#maxUs)
    // Before any estimate D is initialDelay (above this first sample), and shrinks from there.
    const start = current ?? transit + this.#initialUs
    this.#offset = Math.max(start, this.#target)
    this.#offsetTime = now
  }

  /** The offset at local time `t`: falling linearly toward the target, never below it. */
  #offsetAt(t: number): number | undefined {
    if (this.#offset === undefined) return undefined
    const elapsed = Math.max(0, t - this.#offsetTime)
    return Math.max(this.#target, this.#offset - this.#shrinkRate * elapsed)
  }

  /**
   * First instant t at which local + offset(t) <= t. With offset(t) = max(T, O − r(t − t0)) the
   * falling part meets at t* = (local + O + r·t0) / (1 + r), unless the target is reached first.
   * A result <= t0 means the frame was already due when the offset was last set.
   */
  #dueAt(local: number): number {
    if (!this.#adaptive || this.#offset === undefined) return local + this.#initialUs
    const playout = local + this.#offset
    const r = this.#shrinkRate
    if (r === 0 || this.#offset <= this.#target || playout <= this.#offsetTime) return playout
    return Math.max((playout + r * this.#offsetTime) / (1 + r), local + this.#target)
  }

  /** Drops the oldest frames past the caps; true when the frame just pushed (`seq`) was one of them. */
  #enforceCapacity(seq: number): boolean {
    let droppedSelf = false
    const slots = this.#slots
    while (slots.length > this.#maxFrames || (slots.length > 1 && slots[slots.length - 1].local - slots[0].local > this.#capacityUs)) {
      const oldest = slots.shift()
      if (oldest === undefined) break
      this.#counts.overflowDrops++
      this.#floorSeq = Math.max(this.#floorSeq, oldest.frame.seq + 1)
      if (oldest.frame.seq === seq) droppedSelf = true
    }
    return droppedSelf
  }

  #rememberDelivered(seq: number): void {
    if (this.#deliveredRing.length < DELIVERED_MEMORY) {
      this.#deliveredRing.push(seq)
    } else {
      this.#delivered.delete(this.#deliveredRing[this.#deliveredNext])
      this.#deliveredRing[this.#deliveredNext] = seq
      this.#deliveredNext = (this.#deliveredNext + 1) % DELIVERED_MEMORY
    }
    this.#delivered.add(seq)
  }
}
