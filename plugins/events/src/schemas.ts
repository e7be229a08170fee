/**
 * Payload schemas per event name, checked on the receiving side before any listener runs: a JSON
 * Schema or any Standard Schema validator (zod, valibot, arktype), compiled once by the kernel's
 * SchemaCompiler. A payload that fails is refused with `E_INVALID_PAYLOAD` listing the problems
 * (the sender gets an `error` frame with `re: "events.emit"`); listeners get the schema's output.
 */
import { EchoError, isPending, KernelFrames, SchemaCompiler, type Schema, type SchemaCheck, type SchemaResult, type Session } from '@echostream/kernel'
import { eventsErrors } from './errors.js'
import { EventFrames } from './frames.js'
import type { Listeners } from './listeners.js'

export class EventSchemas {
  readonly #checks = new Map<string, SchemaCheck>()
  readonly #compiler = new SchemaCompiler()

  /** Sets `name`'s schema (one per event name); returns the function that removes it. */
  set(name: string, schema: Schema): () => void {
    if (this.#checks.has(name)) throw eventsErrors.duplicateSchema(name)
    let check: SchemaCheck
    try {
      check = this.#compiler.compile(schema, 'data')
    } catch (error) {
      throw eventsErrors.badSchema(name, EchoError.from(error).message)
    }
    this.#checks.set(name, check)
    return () => {
      if (this.#checks.get(name) === check) this.#checks.delete(name)
    }
  }

  /**
   * Checks `payload` and hands the checked value to `listeners`. A sync check throws the refusal (the
   * kernel answers with an error frame); an async one answers with the error frame itself. (The
   * listeners, not a callback: a closure per event was an allocation on the fan-out hot path.)
   */
  dispatch(name: string, payload: unknown, session: Session, listeners: Pick<Listeners, 'dispatch'>): void {
    const check = this.#checks.get(name)
    if (check === undefined) return void listeners.dispatch(name, payload, session)
    const result = check(payload)
    if (!isPending(result)) return void listeners.dispatch(name, verdict(name, result), session)
    void result.then((r) => {
      try {
        listeners.dispatch(name, verdict(name, r), session)
      } catch (error) {
        if (session.state !== 'open') return
        try {
          session.send({ kind: KernelFrames.error, payload: { ...EchoError.from(error).toWire(), re: EventFrames.emit } })
        } catch {
          // the session is going: nobody to tell
        }
      }
    })
  }

  clear(): void {
    this.#checks.clear()
  }
}

function verdict(name: string, result: SchemaResult): unknown {
  if (result.ok) return result.value
  throw eventsErrors.invalidPayload(name, result.problems)
}
