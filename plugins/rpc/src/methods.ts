/**
 * The methods this side handles, each with its compiled schemas. Schemas (JSON Schema or any
 * Standard Schema validator) are compiled once, at `rpc.handle`, by the kernel's SchemaCompiler —
 * one per kernel, so JSON Schema `$id`s stay local to it; the hot path only calls the checks.
 */
import { describe, EchoError, type RpcHandlerOptions, type Schema, type SchemaCheck, type SchemaCompiler } from '@echostream/kernel'
import type { CallContext } from './context.js'
import { rpcErrors } from './errors.js'
import type { Unregister } from './types.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyHandler = (params: any, ctx: CallContext) => unknown

export interface MethodEntry {
  readonly handler: AnyHandler
  /** The params (each item of a streamed input). */
  readonly params: SchemaCheck | undefined
  /** The result (each item of a streamed result), checked before sending when `checkResults` is on. */
  readonly result: SchemaCheck | undefined
}

export class Methods {
  readonly #entries = new Map<string, MethodEntry>()
  readonly #compiler: SchemaCompiler

  constructor(compiler: SchemaCompiler) {
    this.#compiler = compiler
  }

  get(method: string): MethodEntry | undefined {
    return this.#entries.get(method)
  }

  names(): string[] {
    return [...this.#entries.keys()]
  }

  /** Registers `handler` for `method`; arguments are checked at run time too (plain JS callers, handler modules). */
  add(method: string, handler: AnyHandler, options?: RpcHandlerOptions): Unregister {
    if (typeof method !== 'string' || method.length === 0) {
      throw rpcErrors.invalidArgument(`rpc.handle(method, handler): method must be a non-empty string, got ${describe(method)}.`)
    }
    if (typeof handler !== 'function') throw rpcErrors.invalidArgument(`rpc.handle('${method}', handler): handler must be a function, got ${describe(handler)}.`)
    if (options !== undefined && (typeof options !== 'object' || options === null)) {
      throw rpcErrors.invalidArgument(`rpc.handle('${method}', handler, options): options must be an object like { params, result }, got ${describe(options)}.`)
    }
    if (this.#entries.has(method)) throw rpcErrors.duplicateMethod(method)
    if (options?.params !== undefined && options.schema !== undefined) {
      throw rpcErrors.invalidArgument(`rpc.handle('${method}', handler, options): give the params schema once, as 'params' ('schema' is its older name).`)
    }
    const entry: MethodEntry = {
      handler,
      params: this.#compile(method, 'params', options?.params ?? options?.schema),
      result: this.#compile(method, 'result', options?.result),
    }
    this.#entries.set(method, entry)
    return () => {
      if (this.#entries.get(method) === entry) this.#entries.delete(method)
    }
  }

  /** Compiles a schema for `method`; E_CONFIG naming the method when it is not one. */
  #compile(method: string, label: 'params' | 'result', schema: Schema | undefined): SchemaCheck | undefined {
    if (schema === undefined) return undefined
    try {
      return this.#compiler.compile(schema, label)
    } catch (error) {
      throw rpcErrors.badSchema(method, label, EchoError.from(error).message, error)
    }
  }
}
