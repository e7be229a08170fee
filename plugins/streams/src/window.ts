/**
 * Receive-window auto-tuning: one ReceiveWindow per incoming stream and one per session's
 * connection, sharing the session's RoundTrip estimate. The rule (README "Flow control",
 * "Auto-tuning") follows quic-go's and Chromium's QUIC flow controllers, which grow the window
 * when it is read too fast for the round trip; we also shrink it when the application reads
 * slowly, so memory follows the reader:
 *
 * - at each window update (the application has read at least half the window since the last
 *   one), with `read` bytes read in `elapsed` since the update before: if the window holds less
 *   than GROW_RTTS round trips of that reading rate (`window < GROW_RTTS · rtt · read / elapsed`),
 *   it doubles, up to its cap; if it holds more than SHRINK_RTTS round trips, it halves, down to
 *   the initial window. In between it stays (a factor of 4 of hysteresis: a halved window
 *   still holds more than GROW_RTTS round trips, so the rule never oscillates at a steady rate).
 * - when the sender reports it is blocked at the current limit while the application has read
 *   everything, the window is what holds the stream back right now: it doubles at once.
 *
 * The round trip is measured by credit, with no clock shared with the peer: from sending a grant
 * that raised the limit from M to the arrival of the first data beyond M, counted only when the
 * sender reported it was blocked at M (`stream.blocked`), so it had data waiting for that grant.
 * (A sender with nothing to send uses credit whenever it has something: timing that would measure
 * the application, and a slow sender would look like a long path — measured: a 6.5 MB/s sender
 * on loopback read as a 400 ms round trip and kept a 4 MiB window.) The sample includes the
 * queueing in front of the new data, as QUIC's smoothed RTT and gRPC's BDP pings do: what
 * matters is how long credit takes to turn into data here.
 */

/**
 * What an unread frame costs in memory beyond its credit bytes (its frame object, queue slots and
 * Buffer view). Measured: 1-byte binary frames ~300 B of heap each for ~30 credit bytes; 1-char
 * strings ~110 B. Grants are scaled by it (see `credit`), so a peer that sends tiny frames cannot
 * make the receiver hold ten times its window.
 */
export const FRAME_BOOKKEEPING = 320

/**
 * A grant goes out once this fraction of the window was read since the last one. A quarter, not
 * HTTP/2's and QUIC's usual half: credit then reaches the sender with three quarters of the window
 * still in flight, slack for event loops that read it late (measured on loopback, 64 KiB chunks:
 * the sender waited for credit 33–75 ms per 256 MiB instead of 75–147 ms, ~15 % more throughput;
 * a grant is one small frame per quarter window).
 */
export const GRANT_FRACTION = 1 / 4

/** Grow when the window holds fewer than this many round trips of the reading rate. */
export const GROW_RTTS = 4
/** Shrink when the window holds more than this many round trips of the reading rate. */
export const SHRINK_RTTS = 16
/**
 * Round-trip samples are clamped to this range (ms): a sample below it is timer noise, one above
 * it is a sender that had nothing to send (it says nothing about the path).
 */
const MIN_RTT_MS = 0.02
const MAX_RTT_MS = 2000

/** The session's credit round trip, smoothed as TCP's SRTT (RFC 6298: 7/8 old, 1/8 new). */
export class RoundTrip {
  /** Smoothed round trip, ms; 0 until the first sample. */
  ms = 0

  sample(ms: number): void {
    const clamped = ms < MIN_RTT_MS ? MIN_RTT_MS : ms > MAX_RTT_MS ? MAX_RTT_MS : ms
    this.ms = this.ms === 0 ? clamped : this.ms + (clamped - this.ms) / 8
  }
}

/** A receive window between `initial` and `max`, tuned as the header says. */
export class ReceiveWindow {
  /** The current window: the memory its unread data may take, bytes. */
  size: number
  readonly initial: number
  max: number
  readonly #rtt: RoundTrip
  #epochAt: number
  #epochConsumed = 0
  /** The limit the outstanding round-trip measurement waits for data beyond (-1: none). */
  #probeFrom = -1
  #probeAt = 0
  /** The sender reported it was blocked at #probeFrom: the measurement counts. */
  #probeBlocked = false
  /** The last limit the sender reported being blocked at (the report may come before our grant from it). */
  #blockedAt = -1
  /** Mean credit bytes per data frame (1/16 smoothing); 0 before the first. */
  #meanCharge = 0

  /** `start`: the size to begin at (the session's tuned stream window), within `initial`…`max`; the floor stays `initial`. */
  constructor(initial: number, max: number, rtt: RoundTrip, now: number, start = initial) {
    this.initial = initial
    this.max = max < initial ? initial : max
    this.size = start < initial ? initial : start > this.max ? this.max : start
    this.#rtt = rtt
    this.#epochAt = now
  }

  /**
   * The credit bytes a grant gives beyond what was read: the window less the bookkeeping its
   * frames take at the mean frame size, so unread bytes plus FRAME_BOOKKEEPING per unread frame
   * stay within `size` (64 KiB chunks: 0.5 % less; 30-byte frames: a tenth).
   */
  get credit(): number {
    const mean = this.#meanCharge
    return mean === 0 ? this.size : Math.floor((this.size * mean) / (mean + FRAME_BOOKKEEPING))
  }

  /** A data frame of `charge` credit bytes arrived. */
  arrived(charge: number): void {
    this.#meanCharge = this.#meanCharge === 0 ? charge : this.#meanCharge + (charge - this.#meanCharge) / 16
  }

  /**
   * A window update is due (`consumed` read so far): applies the rate rule if at least half the
   * window's credit was read since the last update, and starts a new epoch. Returns the credit a
   * grant gives now.
   */
  update(consumed: number, now: number): number {
    const read = consumed - this.#epochConsumed
    const credit = this.credit
    if (read * 2 < credit) return credit
    const elapsed = now - this.#epochAt
    const rtt = this.#rtt.ms
    if (rtt > 0) {
      if (elapsed * credit < GROW_RTTS * rtt * read) this.grow()
      else if (elapsed * credit > SHRINK_RTTS * rtt * read) this.#shrink()
    }
    this.#epochAt = now
    this.#epochConsumed = consumed
    return this.credit
  }

  /** Doubles the window, up to its cap (the reader is starved by the window, not by the sender). */
  grow(): void {
    this.size = Math.min(this.size * 2, this.max)
  }

  /** Raises the window to at least `size` (within its cap): the connection follows its streams. */
  atLeast(size: number): void {
    if (size > this.size) this.size = Math.min(size, this.max)
  }

  #shrink(): void {
    this.size = Math.max(Math.floor(this.size / 2), this.initial)
  }

  /** A grant raising the limit from `from` goes out at `now`: time it, unless a measurement is running. */
  granted(from: number, now: number): void {
    if (this.#probeFrom >= 0) return
    this.#probeFrom = from
    this.#probeAt = now
    this.#probeBlocked = this.#blockedAt === from
  }

  /** The sender reported it is blocked at `limit` (also a stale report: it tells the sender had data waiting). */
  blockedAt(limit: number): void {
    this.#blockedAt = limit
    if (limit === this.#probeFrom) this.#probeBlocked = true
  }

  /** Data arrived up to `received`: true when it crossed the timed limit (then call `crossed`). */
  crosses(received: number): boolean {
    return this.#probeFrom >= 0 && received > this.#probeFrom
  }

  /** Ends the running measurement at `now`: a round-trip sample if the sender was waiting for the grant. */
  crossed(now: number): void {
    if (this.#probeBlocked) this.#rtt.sample(now - this.#probeAt)
    this.#probeFrom = -1
  }
}
