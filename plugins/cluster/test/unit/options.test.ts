/** The schema is the README's option table: every option documented, defaults applied, unknowns refused. */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { validateOptions } from '@echostream/node'
import { schema } from '../../src/options.js'

describe('cluster options', () => {
  it('defaults fill in; unknown options and bad values are refused', () => {
    const options = validateOptions(schema, {}, "plugin 'cluster'", "options['cluster']") as Record<string, unknown>
    expect(options).toMatchObject({ redisUrl: 'redis://127.0.0.1:6379', namespace: 'es', heartbeatMs: 1000, nodeTtlMs: 4000, replayFrames: 1000, urls: [] })
    expect(() => validateOptions(schema, { nope: 1 }, "plugin 'cluster'", "options['cluster']")).toThrow(/nope/)
    expect(() => validateOptions(schema, { namespace: 'a b' }, "plugin 'cluster'", "options['cluster']")).toThrow(/namespace/)
  })

  it('the README table lists exactly the schema’s options', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
    const table = readme.slice(readme.indexOf('## Options'), readme.indexOf('## API'))
    const documented = [...table.matchAll(/^\| `([A-Za-z]+)` \|/gm)].map((m) => m[1])
    expect(documented.sort()).toEqual(Object.keys(schema.properties).sort())
  })
})
