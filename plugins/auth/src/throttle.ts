/**
 * Per-address failure throttling: the nth failed authentication in a row is refused after
 * `baseDelayMs · 2^(n−1)` (capped at `maxDelayMs`); the `maxFailures`th bans the address for
 * `banMs`, during which it is refused at once. An address with no failure for `windowMs`, or whose
 * ban has ended, is forgotten. At most `maxTracked` addresses are remembered (least recently
 * failing forgotten first), so a flood of addresses cannot grow memory without bound.
 */
import type { ThrottleOptions } from './options.js'

interface Entry {
  failures: number
  lastFailureAt: number
  /** Epoch ms; 0 when not banned. */
  bannedUntil: number
}

export interface FailureOutcome {
  /** Failures in a row from this address, this one included. */
  failures: number
  /** Hold the refusal this long (0 when the address was just banned: refuse at once). */
  delayMs: number
  /** > 0 when this failure banned the address: for how long. */
  bannedForMs: number
}

export type Clock = () => number

export class FailureThrottle {
  // A Map iterates in insertion order; re-inserting on each failure keeps it least-recent-first.
  #entries = new Map<string, Entry>()

  constructor(
    private readonly options: Readonly<Omit<ThrottleOptions, 'enabled'>>,
    private readonly now: Clock = Date.now,
  ) {}

  /** Addresses currently remembered. */
  get size(): number {
    return this.#entries.size
  }

  /** Milliseconds left of `key`'s ban, or 0 when it is not banned. */
  bannedFor(key: string): number {
    const entry = this.#live(key, this.now())
    return entry && entry.bannedUntil ? entry.bannedUntil - this.now() : 0
  }

  /** Records a failure of `key` and says how to refuse it. */
  fail(key: string): FailureOutcome {
    const now = this.now()
    const entry = this.#live(key, now) ?? { failures: 0, lastFailureAt: now, bannedUntil: 0 }
    this.#entries.delete(key)
    entry.failures++
    entry.lastFailureAt = now
    const { baseDelayMs, maxDelayMs, maxFailures, banMs } = this.options
    let outcome: FailureOutcome
    if (entry.failures >= maxFailures) {
      entry.bannedUntil = now + banMs
      outcome = { failures: entry.failures, delayMs: 0, bannedForMs: banMs }
    } else {
      outcome = { failures: entry.failures, delayMs: Math.min(baseDelayMs * 2 ** (entry.failures - 1), maxDelayMs), bannedForMs: 0 }
    }
    if (banMs > 0 || entry.bannedUntil === 0) this.#entries.set(key, entry)
    this.#prune(now)
    return outcome
  }

  /** Forgets one address, or every address. */
  reset(key?: string): void {
    if (key === undefined) this.#entries.clear()
    else this.#entries.delete(key)
  }

  /** The entry for `key` unless it has expired (then it is dropped). */
  #live(key: string, now: number): Entry | undefined {
    const entry = this.#entries.get(key)
    if (entry && this.#expired(entry, now)) {
      this.#entries.delete(key)
      return undefined
    }
    return entry
  }

  #expired(entry: Entry, now: number): boolean {
    // A ban that has ended wipes the slate; otherwise failures fade after a quiet window.
    if (entry.bannedUntil) return entry.bannedUntil <= now
    return now - entry.lastFailureAt >= this.options.windowMs
  }

  #prune(now: number): void {
    for (const [key, entry] of this.#entries) {
      if (this.#entries.size > this.options.maxTracked || this.#expired(entry, now)) this.#entries.delete(key)
      else break
    }
  }
}
