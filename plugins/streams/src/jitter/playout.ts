/**
 * Async-iterator driver for a JitterBuffer: yields events as frames fall due, sleeping exactly
 * until `nextDueAt()` and waking early when a push brings a frame due sooner (an empty buffer
 * just waits for a push). The sleep is injectable so tests run it on a virtual clock.
 */
import type { JitterBuffer } from './jitter-buffer.js'
import type { JitterEvent } from './types.js'

export interface PlayoutOptions {
  /** Ends the iteration (also ends a pending sleep). */
  signal?: AbortSignal
  /** Resolves after `us` microseconds, or early when `signal` aborts; must not reject. Default: setTimeout. */
  sleep?(us: number, signal: AbortSignal): Promise<void>
}

export async function* playout<T>(
  buffer: JitterBuffer<T>,
  options: PlayoutOptions = {},
): AsyncGenerator<JitterEvent<T>, void, undefined> {
  const outer = options.signal
  const sleep = options.sleep ?? sleepTimer
  // A function, not an inline test: the signal can flip while we are suspended at a yield.
  const stopped = (): boolean => outer?.aborted === true
  while (!stopped()) {
    for (const event of buffer.pop()) yield event
    if (stopped()) return
    const dueAt = buffer.nextDueAt()
    const wake = new AbortController()
    const abortWake = (): void => wake.abort()
    outer?.addEventListener('abort', abortWake, { once: true })
    const unsubscribe = buffer.onPush(() => {
      // Only a push that brings the next frame forward needs a new sleep.
      const next = buffer.nextDueAt()
      if (dueAt === undefined || (next !== undefined && next < dueAt)) wake.abort()
    })
    try {
      if (dueAt === undefined) await whenAborted(wake.signal)
      else await sleep(Math.max(0, dueAt - buffer.now()), wake.signal)
    } finally {
      unsubscribe()
      outer?.removeEventListener('abort', abortWake)
    }
  }
}

function whenAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve()
    else signal.addEventListener('abort', () => resolve(), { once: true })
  })
}

/** Timer sleep; rounds up to whole ms so we never wake before the frame is due and spin. */
function sleepTimer(us: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const timer = setTimeout(done, Math.ceil(us / 1000))
    signal.addEventListener('abort', done, { once: true })
    function done(): void {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
  })
}
