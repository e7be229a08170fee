import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { validateOptions } from '@echostream/node'
import plugin, { schema } from '../../src/index.js'

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')

/** Rows of the README's option table: option → default column. */
function readmeOptions(): Map<string, string> {
  const section = readme.slice(readme.indexOf('## Options'), readme.indexOf('## TXT record'))
  const rows = new Map<string, string>()
  for (const match of section.matchAll(/^\| `(\w+)` \| [^|]+ \| ([^|]+) \|/gm)) rows.set(match[1]!, match[2]!.trim())
  return rows
}

describe('options', () => {
  it('the README table lists exactly the schema, with its defaults', () => {
    const rows = readmeOptions()
    expect([...rows.keys()].sort()).toEqual(Object.keys(schema.properties).sort())
    for (const [key, prop] of Object.entries(schema.properties) as Array<[string, { default?: unknown }]>) {
      const cell = rows.get(key)!
      if (prop.default === undefined) expect(cell, key).toMatch(/^—/)
      else expect(cell, key).toBe(`\`${typeof prop.default === 'string' ? `'${prop.default}'` : String(prop.default)}\``)
    }
  })

  it('applies defaults and refuses unknown options', () => {
    expect(validateOptions(schema, {}, 'p', 'o')).toEqual({ name: 'echostream', timeoutMs: 3000, interface: '127.0.0.1', bind: '0.0.0.0', mdnsPort: 5353, ttl: 255, advertise: true })
    expect(() => validateOptions(schema, { port: 5354 }, "plugin 'discovery-mdns'", "options['discovery-mdns']")).toThrow(/unknown option.*port.*known: name/)
    expect(() => validateOptions(schema, { mdnsPort: 70000 }, 'p', 'o')).toThrow(/mdnsPort/)
  })

  it('is a plugin that provides discovery and adds no wire frames', () => {
    expect(plugin).toMatchObject({ name: 'discovery-mdns', kernel: '^1', provides: ['discovery'], requires: ['transport'] })
    expect(plugin.wire).toBeUndefined()
    expect(plugin.version).toMatch(/^\d+\.\d+\.\d+/)
  })
})
