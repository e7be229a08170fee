/** KERNEL_VERSION is a constant (the core reads no files); it must equal package.json's version. */
import { readFileSync } from 'node:fs'
import { expect, it } from 'vitest'
import { KERNEL_VERSION } from '../../src/version.js'

it('KERNEL_VERSION matches package.json (update src/version.ts with every version bump)', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  expect(KERNEL_VERSION).toBe(pkg.version)
})
