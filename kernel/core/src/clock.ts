/**
 * The framework's one monotonic clock, in microseconds: `performance.timeOrigin + performance.now()`,
 * available in Node, browsers and workers alike. It never steps (unlike `Date.now()`), and its
 * origin is the epoch, so values from two processes on one machine are comparable.
 * Transports stamp each message's arrival with it (`Connection.onMessage(bytes, arrivedAt)`).
 */
const origin = performance.timeOrigin

/** Monotonic microseconds since the epoch (fractional). */
export function monotonicMicros(): number {
  return (origin + performance.now()) * 1000
}
