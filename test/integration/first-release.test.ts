/**
 * The first release publishes the versions the package.json files hold (1.0.0; the cluster plugin
 * and preset 0.1.0): no pending changeset may bump them, or the first published version would be
 * 1.1.0 (issue 15). Before the first release a change adds a line to .changeset/README.md instead.
 * After the first release, delete this file: from then on every change comes with a changeset.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempDir } from '../helpers/fixtures.js'
import { WORKSPACE } from '../helpers/cli.js'

describe('first release', () => {
  it('no pending changeset bumps a version (changeset status)', () => {
    const out = join(tempDir(), 'status.json')
    execFileSync(process.execPath, [join(WORKSPACE, 'node_modules/@changesets/cli/bin.js'), 'status', '--output', out], { cwd: WORKSPACE, stdio: 'ignore', timeout: 60_000 })
    const status = JSON.parse(readFileSync(out, 'utf8')) as { changesets: Array<{ id: string; releases: Array<{ name: string; type: string }> }> }
    const bumps = status.changesets.flatMap((c) => c.releases.filter((r) => r.type !== 'none').map((r) => `.changeset/${c.id}.md: ${r.name} ${r.type}`))
    expect(bumps, 'before the first release, move these into .changeset/README.md and delete the changeset files').toEqual([])
  })
})
