/** The option schema: defaults, refusals, and the README table kept equal to it. */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { validateOptions } from '@echostream/node'
import { schema } from '../../src/options.js'

describe('options', () => {
  it('fills every default and refuses unknown or out-of-range options', () => {
    expect(validateOptions(schema, undefined, "plugin 'streams'", "options['streams']")).toEqual({
      streamWindow: 262144,
      connectionWindow: 1048576,
      maxStreamWindow: 8388608,
      maxConnectionWindow: 16777216,
      maxStreams: 100,
      writeHighWaterMark: 65536,
      openTimeoutMs: 10000,
      maxNameLength: 256,
    })
    expect(() => validateOptions(schema, { window: 1 }, "plugin 'streams'", "options['streams']")).toThrow(/unknown option.*window/)
    expect(() => validateOptions(schema, { streamWindow: 10 }, "plugin 'streams'", "options['streams']")).toThrow(/streamWindow/)
  })

  it('the README option table lists exactly the schema, with its defaults', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
    const section = readme.slice(readme.indexOf('## Options'), readme.indexOf('\n## ', readme.indexOf('## Options') + 1))
    const rows = [...section.matchAll(/^\| `(\w+)` \| [^|]+ \| `([^`]+)` \|/gm)].map(([, name, value]) => [name, value])
    const expected = Object.entries(schema.properties).map(([name, p]) => [name, String(p.default)])
    expect(rows).toEqual(expected)
  })
})
