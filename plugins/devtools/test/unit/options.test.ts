import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { validateOptions } from '@echostream/node'
import devtools, { DevtoolsErrorCodes, schema } from '../../src/index.js'

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
const squash = (s: string) => s.replace(/[\s`'"]/g, '')
const validate = (options: unknown) => validateOptions(schema, options, "plugin 'devtools'", "options['devtools']") as Record<string, unknown>

describe('options', () => {
  it('fills defaults from the schema and refuses unknown options, short tokens and bad values', () => {
    expect(validate({})).toEqual({ http: true, host: '127.0.0.1', port: 9465, intervalMs: 1000, maxSessions: 200, maxStreams: 200, maxRooms: 200, maxErrors: 50 })
    expect(() => validate({ secret: 'x' })).toThrow(/secret/)
    expect(() => validate({ token: 'short' })).toThrow(/token/)
    expect(() => validate({ port: 70000 })).toThrow(/port/)
    expect(() => validate({ intervalMs: 10 })).toThrow(/intervalMs/)
    expect(() => validate({ url: 'http://x' })).toThrow(/url/)
  })

  it('the README option table lists exactly the schema, with its defaults', () => {
    const section = readme.split('## Options')[1]!.split('\n## ')[0]!
    const rows = section
      .split('\n')
      .filter((line) => /^\| `\w+` \|/.test(line))
      .map((line) => line.split(/(?<!\\)\|/).map((cell) => cell.trim()))
    const table = Object.fromEntries(rows.map((cells) => [cells[1]!.replace(/`/g, ''), cells[3]!]))
    const props = schema.properties as Record<string, { default?: unknown }>
    expect(Object.keys(table).sort()).toEqual(Object.keys(props).sort())
    for (const [name, prop] of Object.entries(props)) if ('default' in prop) expect(squash(table[name]!), name).toBe(squash(JSON.stringify(prop.default)))
  })

  it('the README documents every error code the plugin makes', () => {
    const section = readme.split('## Error codes')[1]!.split('\n## ')[0]!
    for (const code of Object.values(DevtoolsErrorCodes)) expect(section, code).toContain(`| \`${code}\``)
  })

  it('is a plugin named devtools that needs rpc (events, streams, clock when loaded)', () => {
    expect(devtools).toMatchObject({ name: 'devtools', provides: ['devtools'], requires: ['rpc'], optional: ['events', 'streams', 'clock', 'observability'] })
  })
})
