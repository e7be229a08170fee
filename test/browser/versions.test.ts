/** Plugins that run in a page read their version from src/version.ts: it must be package.json's. */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { versionFiles, versionSource } from '../../scripts/sync-versions.mjs'

describe('src/version.ts', () => {
  it("matches each package's package.json (run scripts/sync-versions.mjs after a version bump)", () => {
    const files = versionFiles()
    expect(files.length).toBeGreaterThanOrEqual(7)
    for (const { file, version } of files) expect(readFileSync(file, 'utf8'), file).toBe(versionSource(version))
  })
})
