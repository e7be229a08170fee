/** Shared test helpers: temp folders, kernels that are always stopped, small waits. */
import { mkdtempSync, rmSync, mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach } from 'vitest'
import type { EchoKernel } from '@echostream/kernel'

const cleanups: Array<() => unknown> = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** Registers a kernel (or anything with stop()) to be stopped after the current test. */
export function track<T extends { stop(): Promise<void> }>(kernel: T): T {
  cleanups.push(() => kernel.stop().catch(() => {}))
  return kernel
}

export function onCleanup(fn: () => unknown): void {
  cleanups.push(fn)
}

/** A temp folder, removed after the test, filled with `files` (path → content). */
export function tempDir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'echostream-test-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  writeFiles(dir, files)
  return dir
}

export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), content)
  }
}

export function until(predicate: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (predicate()) return resolve()
      if (Date.now() > deadline) return reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`))
      setTimeout(poll, 5)
    }
    poll()
  })
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export type { EchoKernel }
