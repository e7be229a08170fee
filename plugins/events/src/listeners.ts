/**
 * Event handlers by name. Lists are copy-on-write, so dispatch iterates the array it read without
 * copying, and a handler that subscribes or unsubscribes while an event is being delivered changes
 * only later deliveries (as Node's EventEmitter). A handler that throws or rejects is logged and
 * never affects the other handlers, the session or the process.
 */
import { describe, type Logger, type Session } from '@echostream/kernel'
import { eventsErrors } from './errors.js'

// The data of an untyped event is `any`, as the kernel's `EventHandler`: users annotate it.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyEventHandler = (data: any, session: Session) => unknown

interface Listener {
  readonly fn: AnyEventHandler
  readonly once: boolean
}

export interface ListenersOptions {
  maxListeners: number
  logger: Logger
}

function failureText(error: unknown): string {
  try {
    if (error instanceof Error && typeof error.stack === 'string') return error.stack
  } catch {
    // a Proxy or a getter that throws: describe it instead
  }
  return describe(error)
}

export class Listeners {
  #byName = new Map<string, readonly Listener[]>()
  #warned = new Set<string>()

  constructor(private readonly options: ListenersOptions) {}

  /** Registers `fn` for `name`; returns a function that removes exactly this registration. */
  add(name: string, fn: AnyEventHandler, once: boolean, method: string): () => void {
    if (typeof fn !== 'function') {
      throw eventsErrors.badHandler(method, name, fn)
    }
    const listener: Listener = { fn, once }
    const next = [...(this.#byName.get(name) ?? []), listener]
    this.#byName.set(name, next)
    const max = this.options.maxListeners
    if (max > 0 && next.length > max && !this.#warned.has(name)) {
      this.#warned.add(name)
      this.options.logger.warn(
        `events: ${next.length} handlers for '${name}' (maxListeners ${max}). Is a handler registered repeatedly without off()? Raise options.events.maxListeners if this is intended.`,
      )
    }
    return () => {
      this.#remove(name, listener)
    }
  }

  /** Removes every registration of `fn` for `name`, or every handler of `name` when `fn` is absent. Returns how many went. */
  off(name: string, fn?: AnyEventHandler): number {
    const list = this.#byName.get(name)
    if (!list) return 0
    const kept = fn === undefined ? [] : list.filter((l) => l.fn !== fn)
    this.#set(name, kept)
    return list.length - kept.length
  }

  /** Handlers registered for `name`, or for every name. */
  count(name?: string): number {
    if (name !== undefined) return this.#byName.get(name)?.length ?? 0
    let total = 0
    for (const list of this.#byName.values()) total += list.length
    return total
  }

  names(): string[] {
    return [...this.#byName.keys()]
  }

  /** Calls every handler of `name` with `(data, session)`; returns how many ran. Never throws. */
  dispatch(name: string, data: unknown, session: Session): number {
    const list = this.#byName.get(name)
    if (!list) return 0
    let ran = 0
    for (const listener of list) {
      // A `once` handler is removed before it runs; if a re-entrant delivery removed it first, skip it.
      if (listener.once && !this.#remove(name, listener)) continue
      ran++
      try {
        const result = listener.fn(data, session) as unknown
        if (result !== undefined && typeof (result as PromiseLike<unknown>)?.then === 'function') {
          ;(result as PromiseLike<unknown>).then(undefined, (error: unknown) => this.#report(name, session, error))
        }
      } catch (error) {
        this.#report(name, session, error)
      }
    }
    return ran
  }

  clear(): void {
    this.#byName.clear()
    this.#warned.clear()
  }

  #remove(name: string, listener: Listener): boolean {
    const list = this.#byName.get(name)
    const at = list ? list.indexOf(listener) : -1
    if (at < 0) return false
    this.#set(name, [...list!.slice(0, at), ...list!.slice(at + 1)])
    return true
  }

  #set(name: string, list: readonly Listener[]): void {
    if (list.length) this.#byName.set(name, list)
    else {
      this.#byName.delete(name)
      this.#warned.delete(name)
    }
  }

  #report(name: string, session: Session, error: unknown): void {
    try {
      this.options.logger.error(`events: a handler for '${name}' failed (session ${session.id || '(none)'}): ${failureText(error)}`)
    } catch {
      // a logger that throws must not take the dispatch loop down with it
    }
  }
}
