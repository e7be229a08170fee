/**
 * What a page gets for `tapable` (the kernel's package.json `browser` field maps its import here): the five hook
 * kinds the kernel uses, with tapable's tap order (`stage`, then `before`), its `taps` array and
 * its calling rules (only the declared arguments are passed; a bail stops at the first result
 * other than undefined; a waterfall passes on what each tap returns unless undefined), plus what
 * the kernel's plugin host uses: `register` interceptors (they tag each tap with its owner),
 * `withOptions` and `_resetCompilation` (a no-op: nothing is compiled). No code generation:
 * 17.4 KB minified less.
 * test/browser/light-checks.test.ts runs the same taps through both and compares.
 */
type Fn = (...args: unknown[]) => unknown
export interface Tap {
  type: 'sync' | 'async' | 'promise'
  name: string
  fn: Fn
  stage?: number
  before?: string | string[]
}
type TapOptions = string | { name: string; stage?: number; before?: string | string[]; [extra: string]: unknown }
interface Interceptor {
  register?: (tap: Tap) => Tap | undefined
}

class Hook {
  taps: Tap[] = []
  interceptors: Interceptor[] = []
  constructor(readonly args: string[] = []) {}
  intercept(interceptor: Interceptor): void {
    this.interceptors.push({ ...interceptor })
  }
  /** tapable's withOptions: tap/tapAsync/tapPromise with `options` merged into each tap's. */
  withOptions(options: Record<string, unknown>) {
    const merge = (opt: TapOptions) => ({ ...options, ...(typeof opt === 'string' ? { name: opt } : opt) }) as TapOptions
    return {
      tap: (opt: TapOptions, fn: Fn) => this.tap(merge(opt), fn),
      tapAsync: (opt: TapOptions, fn: Fn) => this.tapAsync(merge(opt), fn),
      tapPromise: (opt: TapOptions, fn: Fn) => this.tapPromise(merge(opt), fn),
    }
  }
  /** Nothing is compiled here: removing taps from `taps` is enough. */
  _resetCompilation(): void {}
  tap(options: TapOptions, fn: Fn): void {
    this.#insert(options, fn, 'sync')
  }
  tapAsync(options: TapOptions, fn: Fn): void {
    this.#insert(options, fn, 'async')
  }
  tapPromise(options: TapOptions, fn: Fn): void {
    this.#insert(options, fn, 'promise')
  }
  isUsed(): boolean {
    return this.taps.length > 0
  }
  // tapable's _insert: after every tap of a lower or equal stage, before the ones named in `before`.
  #insert(options: TapOptions, fn: Fn, type: Tap['type']): void {
    let item: Tap = { type, fn, ...(typeof options === 'string' ? { name: options } : options) }
    for (const interceptor of this.interceptors) if (interceptor.register) item = interceptor.register(item) ?? item
    const before = item.before === undefined ? undefined : new Set(([] as string[]).concat(item.before))
    const stage = item.stage ?? 0
    let i = this.taps.length
    while (i > 0) {
      i--
      const x = this.taps[i]!
      this.taps[i + 1] = x
      if (before?.delete(x.name) || (before && before.size > 0)) continue
      if ((x.stage ?? 0) > stage) continue
      i++
      break
    }
    this.taps[i] = item
  }
  protected pass(args: unknown[]): unknown[] {
    return args.slice(0, this.args.length)
  }
}

function run(tap: Tap, args: unknown[]): Promise<unknown> {
  if (tap.type === 'async') return new Promise((resolve, reject) => tap.fn(...args, (error: unknown, value: unknown) => (error ? reject(error) : resolve(value))))
  try {
    return Promise.resolve(tap.fn(...args))
  } catch (error) {
    return Promise.reject(error)
  }
}

export class SyncHook extends Hook {
  call(...args: unknown[]): void {
    args = this.pass(args)
    for (const tap of this.taps) tap.fn(...args)
  }
}

export class SyncBailHook extends Hook {
  call(...args: unknown[]): unknown {
    args = this.pass(args)
    for (const tap of this.taps) {
      const result = tap.fn(...args)
      if (result !== undefined) return result
    }
    return undefined
  }
}

export class SyncWaterfallHook extends Hook {
  call(...args: unknown[]): unknown {
    args = this.pass(args)
    for (const tap of this.taps) {
      const result = tap.fn(...args)
      if (result !== undefined) args[0] = result
    }
    return args[0]
  }
}

export class AsyncSeriesHook extends Hook {
  async promise(...args: unknown[]): Promise<void> {
    args = this.pass(args)
    for (const tap of [...this.taps]) await run(tap, args)
  }
}

export class AsyncParallelHook extends Hook {
  async promise(...args: unknown[]): Promise<void> {
    args = this.pass(args)
    await Promise.all(this.taps.map((tap) => run(tap, args)))
  }
}
