/**
 * Deterministic harness for the jitter-buffer tests: a seeded PRNG, a virtual µs clock, a stream
 * generator and an event loop that pushes arrivals and pops exactly at `nextDueAt()`, as a timer
 * driven consumer would.
 */
import type { JitterBuffer } from '../../src/jitter/jitter-buffer.js'
import type { JitterEvent, JitterFrame, PushResult } from '../../src/jitter/types.js'

export const MS = 1000
export const S = 1_000_000

/** mulberry32, seedable: the kernel's `seededRandom` (the jitter tests' name for it). */
export { seededRandom as mulberry32 } from '@echostream/kernel'

export function exponential(rand: () => number, mean: number): number {
  return -mean * Math.log(1 - rand())
}

export class VirtualClock {
  t = 0
  readonly now = (): number => this.t
}

export interface Arrival<T> {
  readonly at: number
  readonly frame: JitterFrame<T>
}

export interface StreamSpec {
  frames: number
  frameUs?: number
  /** One-way transit of frame `seq` sent at true time `sendUs`. */
  transit(seq: number, sendUs: number): number
  /** Sender's stamp for true time `sendUs` (default: a perfect clock). */
  wallTime?(sendUs: number): number
  /** Return false to lose the frame. */
  keep?(seq: number): boolean
}

/** Arrivals sorted by time (ties keep send order). */
export function stream(spec: StreamSpec): Arrival<number>[] {
  const frameUs = spec.frameUs ?? 20 * MS
  const out: Arrival<number>[] = []
  for (let seq = 0; seq < spec.frames; seq++) {
    const sendUs = seq * frameUs
    const transit = spec.transit(seq, sendUs)
    if (spec.keep !== undefined && !spec.keep(seq)) continue
    const wallTime = spec.wallTime === undefined ? sendUs : spec.wallTime(sendUs)
    out.push({ at: sendUs + transit, frame: { seq, wallTime, data: seq } })
  }
  return out.sort((a, b) => a.at - b.at || a.frame.seq - b.frame.seq)
}

export interface Released<T> {
  readonly at: number
  readonly event: JitterEvent<T>
}

export interface Pushed {
  readonly at: number
  readonly seq: number
  readonly result: PushResult
}

export interface DriveOptions {
  probeEveryUs?: number
  probe?(t: number): void
}

export function drive<T>(jb: JitterBuffer<T>, clock: VirtualClock, arrivals: readonly Arrival<T>[], options: DriveOptions = {}): {
  released: Released<T>[]
  pushed: Pushed[]
} {
  const released: Released<T>[] = []
  const pushed: Pushed[] = []
  const probeEvery = options.probeEveryUs ?? Number.POSITIVE_INFINITY
  let nextProbe = probeEvery
  let i = 0
  let steps = 0
  for (;;) {
    const due = jb.nextDueAt() ?? Number.POSITIVE_INFINITY
    const arrival = i < arrivals.length ? arrivals[i].at : Number.POSITIVE_INFINITY
    if (due === Number.POSITIVE_INFINITY && arrival === Number.POSITIVE_INFINITY) break
    if (++steps > 10_000_000) throw new Error('simulation does not progress')
    clock.t = Math.max(clock.t, Math.min(due, arrival, nextProbe))
    while (i < arrivals.length && arrivals[i].at <= clock.t) {
      const { frame } = arrivals[i++]
      pushed.push({ at: clock.t, seq: frame.seq, result: jb.push(frame) })
    }
    for (const event of jb.pop()) released.push({ at: clock.t, event })
    while (nextProbe <= clock.t) {
      options.probe?.(clock.t)
      nextProbe += probeEvery
    }
  }
  return { released, pushed }
}

export function frameSeqs<T>(released: readonly Released<T>[]): number[] {
  const seqs: number[] = []
  for (const { event } of released) if (event.kind === 'frame') seqs.push(event.frame.seq)
  return seqs
}

export function isStrictlyIncreasing(xs: readonly number[]): boolean {
  for (let i = 1; i < xs.length; i++) if (xs[i] <= xs[i - 1]) return false
  return true
}
