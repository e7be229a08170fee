import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { validateOptions } from '@echostream/node'
import observability, { ObservabilityErrorCodes, schema } from '../../src/index.js'

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
const squash = (s: string) => s.replace(/[\s`'"]/g, '')

describe('options', () => {
  it('fills defaults from the schema and refuses unknown options and bad values', () => {
    const filled = validateOptions(schema, {}, "plugin 'observability'", "options['observability']") as Record<string, unknown>
    expect(filled).toMatchObject({ level: 'info', format: 'json', destination: 'stdout', admin: true, host: '127.0.0.1', port: 9464, prefix: 'echostream_', defaultMetrics: true })
    expect(() => validateOptions(schema, { logLevel: 'info' }, "plugin 'observability'", "options['observability']")).toThrow(/logLevel/)
    expect(() => validateOptions(schema, { level: 'loud' }, "plugin 'observability'", "options['observability']")).toThrow(/level/)
    expect(() => validateOptions(schema, { port: 70000 }, "plugin 'observability'", "options['observability']")).toThrow(/port/)
  })

  it('the README option table lists exactly the schema, with its defaults', () => {
    const section = readme.split('## Options')[1]!.split('\n## ')[0]!
    const rows = section
      .split('\n')
      .filter((line) => /^\| `\w+` \|/.test(line))
      .map((line) => line.split(/(?<!\\)\|/).map((cell) => cell.trim()))
    const table = Object.fromEntries(rows.map((cells) => [cells[1]!.replace(/`/g, ''), cells[3]!]))
    const props = schema.properties as Record<string, { default: unknown }>
    expect(Object.keys(table).sort()).toEqual(Object.keys(props).sort())
    for (const [name, prop] of Object.entries(props)) expect(squash(table[name]!), name).toBe(squash(JSON.stringify(prop.default)))
  })

  it('the README documents every error code the plugin makes', () => {
    const section = readme.split('## Error codes')[1]!.split('\n## ')[0]!
    for (const code of Object.values(ObservabilityErrorCodes)) expect(section, code).toContain(`| \`${code}\``)
  })

  it('is a server-only plugin named observability', () => {
    expect(observability).toMatchObject({ name: 'observability', provides: ['observability'], roles: ['server'] })
  })
})
