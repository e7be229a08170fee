/**
 * Browsing: `discover$` is an async iterator of servers coming and going; `discover` collects what
 * answered within a time limit. Each browse owns its own mDNS socket and closes it when it ends, so
 * a finished discovery leaves no handle open.
 */
import type { Mdns, RawService } from './mdns.js'
import { matchesName, toDiscovered, type DiscoveredService } from './txt.js'

export interface DiscoveryEvent {
  /** `up`: a server appeared, or its record changed (same `instance`, new data). `down`: it said goodbye. */
  type: 'up' | 'down'
  service: DiscoveredService
}

export interface WatchOptions {
  /** Ends the iteration (as `return()` does). */
  signal?: AbortSignal
}

export interface DiscoverOptions {
  /** How long to collect answers (default: the plugin's `timeoutMs`). */
  timeoutMs?: number
  /** Stops early and resolves with what answered so far. */
  signal?: AbortSignal
}

/** First re-query after 1 s, then ×3, up to once a minute (RFC 6762 §5.2 continuous querying). */
const FIRST_REQUERY_MS = 1000
const MAX_REQUERY_MS = 60_000

/**
 * An async iterator over one browse. Events wait in a queue until read; closing (`return()`, a
 * `break` out of `for await`, the signal, or the kernel stopping) stops browsing and closes the socket.
 */
export class ServiceWatch implements AsyncIterableIterator<DiscoveryEvent> {
  readonly #mdns: Mdns
  readonly #name: string | undefined
  readonly #known = new Map<string, DiscoveredService>()
  readonly #queue: DiscoveryEvent[] = []
  #waiter: { resolve(result: IteratorResult<DiscoveryEvent>): void; reject(error: unknown): void } | undefined
  #error: unknown
  #closed: Promise<void> | undefined
  #requeryTimer: ReturnType<typeof setTimeout> | undefined
  readonly #onClose: (watch: ServiceWatch) => void
  readonly #signal: AbortSignal | undefined
  readonly #onAbort = () => void this.return()
  readonly #browsing

  constructor(mdns: Mdns, name: string | undefined, options: WatchOptions, onClose: (watch: ServiceWatch) => void) {
    this.#mdns = mdns
    this.#name = name
    this.#onClose = onClose
    this.#signal = options.signal
    this.#browsing = mdns.browse({
      up: (raw) => this.#up(raw),
      down: (raw) => this.#down(raw),
      error: (error) => this.#fail(error),
    })
    this.#scheduleRequery(FIRST_REQUERY_MS)
    if (this.#signal?.aborted) void this.return()
    else this.#signal?.addEventListener('abort', this.#onAbort, { once: true })
  }

  /** Servers currently known (up and not yet gone). */
  current(): DiscoveredService[] {
    return [...this.#known.values()]
  }

  get closed(): boolean {
    return this.#closed !== undefined
  }

  #scheduleRequery(delay: number): void {
    this.#requeryTimer = setTimeout(() => {
      this.#browsing.requery()
      this.#scheduleRequery(Math.min(delay * 3, MAX_REQUERY_MS))
    }, delay)
    // The socket keeps the process alive while browsing; the timer alone must not.
    this.#requeryTimer.unref()
  }

  #up(raw: RawService): void {
    if (this.#closed) return
    const service = toDiscovered(raw)
    const known = this.#known.get(raw.fqdn)
    if (!service || !matchesName(service, this.#name)) {
      // Renamed away from the filter (a TXT update): for this browse it is gone.
      if (known) this.#down(raw)
      return
    }
    if (known && known.url === service.url && JSON.stringify(known.txt) === JSON.stringify(service.txt)) return
    this.#known.set(raw.fqdn, service)
    this.#push({ type: 'up', service })
  }

  #down(raw: RawService): void {
    if (this.#closed) return
    const known = this.#known.get(raw.fqdn)
    if (!known) return
    this.#known.delete(raw.fqdn)
    this.#push({ type: 'down', service: known })
  }

  #push(event: DiscoveryEvent): void {
    const waiter = this.#waiter
    if (waiter) {
      this.#waiter = undefined
      waiter.resolve({ value: event, done: false })
    } else this.#queue.push(event)
  }

  #fail(error: unknown): void {
    if (this.#closed) return
    const waiter = this.#waiter
    this.#waiter = undefined
    // Reported once: to the pending next(), or else to the next call.
    if (waiter) waiter.reject(error)
    else this.#error = error
    void this.return()
  }

  next(): Promise<IteratorResult<DiscoveryEvent>> {
    const event = this.#queue.shift()
    if (event) return Promise.resolve({ value: event, done: false })
    if (this.#error !== undefined) {
      const error = this.#error
      this.#error = undefined
      return Promise.reject(error)
    }
    if (this.#closed) return Promise.resolve({ value: undefined, done: true })
    if (this.#waiter) return Promise.reject(new Error('discover$: next() called again before the previous call resolved; await each one.'))
    return new Promise((resolve, reject) => (this.#waiter = { resolve, reject }))
  }

  /** Stops browsing and closes the socket; resolves when it is closed. Events not yet read are dropped. */
  async return(): Promise<IteratorResult<DiscoveryEvent>> {
    this.#closed ??= (async () => {
      clearTimeout(this.#requeryTimer)
      this.#signal?.removeEventListener('abort', this.#onAbort)
      this.#browsing.stop()
      this.#queue.length = 0
      const waiter = this.#waiter
      this.#waiter = undefined
      waiter?.resolve({ value: undefined, done: true })
      this.#onClose(this)
      await this.#mdns.close()
    })()
    await this.#closed
    return { value: undefined, done: true }
  }

  async throw(error?: unknown): Promise<IteratorResult<DiscoveryEvent>> {
    await this.return()
    throw error
  }

  [Symbol.asyncIterator](): this {
    return this
  }
}

/** Browses until `timeoutMs` passes (or the signal fires, or the watch is closed) and returns who is up then. */
export async function collect(watch: ServiceWatch, timeoutMs: number, signal?: AbortSignal): Promise<DiscoveredService[]> {
  let timer: ReturnType<typeof setTimeout> | undefined
  let onAbort: (() => void) | undefined
  try {
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(resolve, timeoutMs)
      onAbort = resolve
      if (signal?.aborted) resolve()
      signal?.addEventListener('abort', onAbort, { once: true })
      // Read the events so a socket failure (or the kernel stopping) ends the wait at once.
      void (async () => {
        try {
          while (!(await watch.next()).done);
          resolve()
        } catch (error) {
          reject(error)
        }
      })()
    })
    return watch.current()
  } finally {
    clearTimeout(timer)
    if (onAbort) signal?.removeEventListener('abort', onAbort)
    await watch.return()
  }
}
