/**
 * Taps made through a plugin's kernel are recorded with the plugin's name, so unloading can
 * rebuild a hook from the taps that remain (tapable hooks cannot drop a tap).
 */
import type { HookName, Hooks } from './hooks.js'

export type TapMethod = 'tap' | 'tapAsync' | 'tapPromise'

export interface TapRecord {
  plugin: string
  hook: HookName
  method: TapMethod
  options: unknown
  fn: unknown
}

/** A tap as tapable stores it in `hook.taps`. */
interface StoredTap {
  type: 'sync' | 'async' | 'promise'
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  fn: Function
}

/** Calls one tap of an argument-less lifecycle hook, whatever its type. */
export function callTap(tap: StoredTap | TapRecord): Promise<unknown> {
  const type = 'type' in tap ? tap.type : tap.method === 'tap' ? 'sync' : tap.method === 'tapAsync' ? 'async' : 'promise'
  const fn = tap.fn as (...args: unknown[]) => unknown
  if (type === 'async') {
    return new Promise((resolve, reject) => fn((error: unknown) => (error ? reject(error) : resolve(undefined))))
  }
  try {
    return Promise.resolve(fn())
  } catch (error) {
    return Promise.reject(error)
  }
}

/**
 * Hooks as a plugin sees them: `tap`/`tapAsync`/`tapPromise` are recorded, everything else
 * (call, promise, taps…) reads the kernel's current hook.
 */
export function createRecordingHooks(current: () => Hooks, record: (tap: Omit<TapRecord, 'plugin'>) => void): Hooks {
  const cache = new Map<HookName, unknown>()
  return new Proxy({} as Hooks, {
    get(_, prop) {
      const hook = prop as HookName
      if (!(hook in current())) return undefined
      let wrapper = cache.get(hook)
      if (!wrapper) {
        const tapWith = (method: TapMethod) => (options: unknown, fn: unknown) => record({ hook, method, options, fn })
        const taps = { tap: tapWith('tap'), tapAsync: tapWith('tapAsync'), tapPromise: tapWith('tapPromise') }
        wrapper = new Proxy(taps, {
          get(target, key) {
            if (key in target) return target[key as keyof typeof target]
            const live = current()[hook] as unknown as Record<PropertyKey, unknown>
            const value = live[key]
            return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(live) : value
          },
        })
        cache.set(hook, wrapper)
      }
      return wrapper
    },
    has(_, prop) {
      return prop in current()
    },
    ownKeys() {
      return Reflect.ownKeys(current())
    },
    getOwnPropertyDescriptor(_, prop) {
      return { configurable: true, enumerable: true, value: (current() as unknown as Record<PropertyKey, unknown>)[prop] }
    },
  })
}
