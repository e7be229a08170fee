/** A media frame as the sender stamped it. */
export interface JitterFrame<T> {
  /** Integer sequence number, +1 per frame; playout order. */
  readonly seq: number
  /** Capture time in microseconds, in the synchronised (peer) timebase. */
  readonly wallTime: number
  readonly data: T
}

/**
 * What `pop()` releases, in seq order. A gap covers `count` consecutive seqs whose slot passed
 * without a frame (lost, late, or dropped for capacity): the application conceals them. One event
 * per run, not per seq, so a sender that jumps its seq cannot make us allocate millions of events.
 */
export type JitterEvent<T> =
  | { readonly kind: 'frame'; readonly frame: JitterFrame<T>; readonly playoutAt: number }
  | { readonly kind: 'gap'; readonly gap: { readonly seq: number; readonly count: number } }

/**
 * What happened to a pushed frame. `overflow`: accepted, then dropped at once as the oldest
 * because the buffer was over capacity. `invalid`: non-integer seq or non-finite time (peer data
 * is untrusted, so this is a result, not a throw).
 */
export type PushResult = 'accepted' | 'duplicate' | 'late' | 'overflow' | 'invalid'

export interface JitterBufferOptions {
  /** Local monotonic clock, microseconds. Injected so the buffer is deterministic under test. */
  now(): number
  /** Maps a frame's wallTime (µs, synchronised timebase) to local µs. Default: identity. */
  toLocal?(wallTimeUs: number): number
  /** D before the first estimate; also the fixed D when `adaptive` is false. Default 80. */
  initialDelayMs?: number
  /** Floor of the adaptive D. Default 20. */
  minDelayMs?: number
  /** Ceiling of the adaptive D. Default 500. */
  maxDelayMs?: number
  /** Cap on the wall-time span of buffered frames; the oldest are dropped past it. Default 2000. */
  capacityMs?: number
  /** Cap on buffered frames whatever their span (a peer could send many with one wallTime). Default 4096. */
  maxFrames?: number
  /** How fast D may fall; it rises at once. Default 10. */
  shrinkMsPerSecond?: number
  /** Percentile of the transit spread that D covers (aimed one σ of estimation error above it). Default 0.95. */
  percentile?: number
  /** Transit samples in the sliding window (also the window of delivered-delay samples). Default 250 (5 s of 20 ms frames). */
  historySize?: number
  /**
   * true (default): D adapts and is measured above the fastest transit in the window, as NetEq's
   * relative delay, so a constant path delay or clock drift costs nothing.
   * false: playout = toLocal(wallTime) + initialDelayMs exactly, which is what synchronised
   * playout across receivers needs (every receiver plays a frame at the same wall time).
   */
  adaptive?: boolean
}

export interface JitterMetrics {
  delivered: number
  /** Frames dropped because their playout time (or their seq's slot) had passed. */
  lateDrops: number
  /** Seqs reported to the application as gaps. */
  gaps: number
  /** Copies of a frame already buffered or already delivered. */
  duplicates: number
  /** Frames that arrived after a higher seq (whether or not they were in time). */
  reorders: number
  /** Frames dropped as the oldest because the buffer was over capacity. */
  overflowDrops: number
  invalid: number
  /** D now: playout offset above the fastest recent transit (adaptive), or the fixed D. */
  currentDelayMs: number
  /** Where D is heading: clamp(percentile of the transit spread). Equals currentDelayMs when fixed. */
  targetDelayMs: number
  /** Playout time minus toLocal(wallTime) for a frame pushed now. */
  playoutOffsetMs: number
  /** 95th percentile of release time minus arrival time over recently delivered frames. */
  p95DelayMs: number
  /** Frames buffered. */
  depth: number
  /** Wall-time span from the oldest to the newest buffered frame. */
  depthMs: number
}
