/**
 * Readiness: ready when the server listens, every plugin started, it is not draining, and every
 * registered check passes (a cluster plugin adds "broker connected"). A check returns `true` when
 * ready, or a string saying why not; one that throws or takes over 1 s counts as not ready.
 */
import { messageOf } from '@echostream/kernel'
import { observabilityErrors } from './errors.js'

export type ReadinessCheck = () => boolean | string | Promise<boolean | string>

export interface ReadinessReport {
  ready: boolean
  /** Check name → why it is not ready (absent when ready). */
  failing: Record<string, string>
}

const CHECK_TIMEOUT_MS = 1000

export class Readiness {
  readonly #checks = new Map<string, ReadinessCheck>()

  add(name: string, check: ReadinessCheck): () => void {
    if (typeof name !== 'string' || name.length === 0 || typeof check !== 'function') throw observabilityErrors.badCheck(name, check)
    if (this.#checks.has(name)) throw observabilityErrors.duplicateCheck(name)
    this.#checks.set(name, check)
    return () => {
      if (this.#checks.get(name) === check) this.#checks.delete(name)
    }
  }

  async check(): Promise<ReadinessReport> {
    const failing: Record<string, string> = {}
    await Promise.all(
      [...this.#checks].map(async ([name, check]) => {
        let timer: ReturnType<typeof setTimeout> | undefined
        try {
          const timeout = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`no answer within ${CHECK_TIMEOUT_MS} ms`), CHECK_TIMEOUT_MS)))
          const result = await Promise.race([Promise.resolve().then(check), timeout])
          if (result !== true) failing[name] = typeof result === 'string' ? result : 'not ready'
        } catch (error) {
          failing[name] = `check failed: ${messageOf(error)}`
        } finally {
          clearTimeout(timer)
        }
      }),
    )
    return { ready: Object.keys(failing).length === 0, failing }
  }
}
