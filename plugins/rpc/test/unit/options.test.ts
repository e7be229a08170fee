import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { validateOptions } from '@echostream/node'
import rpc, { RpcErrorCodes, schema } from '../../src/index.js'

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')

describe('options', () => {
  it('fills defaults from the schema', () => {
    expect(validateOptions(schema, {}, "plugin 'rpc'", "options['rpc']")).toEqual({ defaultTimeoutMs: 30000, maxPending: 100000, maxConcurrent: 100000, exposeErrors: true, idleTimeoutMs: 30000, windowBytes: 65536, checkResults: 'development' })
  })

  it('refuses unknown options and bad values, naming them', () => {
    expect(() => validateOptions(schema, { timeout: 5 }, "plugin 'rpc'", "options['rpc']")).toThrow(/unknown option 'options\['rpc'\]\.timeout'/)
    expect(() => validateOptions(schema, { defaultTimeoutMs: -1 }, "plugin 'rpc'", "options['rpc']")).toThrow(/defaultTimeoutMs/)
    expect(() => validateOptions(schema, { maxPending: 0 }, "plugin 'rpc'", "options['rpc']")).toThrow(/maxPending/)
  })

  it('the README option table lists exactly the schema, with its defaults', () => {
    const section = readme.split('## Options')[1]!.split('\n## ')[0]!
    const rows = section
      .split('\n')
      .filter((line) => /^\| `\w+` \|/.test(line))
      .map((line) => line.split('|').map((cell) => cell.trim()))
    const table = Object.fromEntries(rows.map((cells) => [cells[1]!.replace(/`/g, ''), { type: cells[2], default: cells[3]!.replace(/`/g, '') }]))
    const props = schema.properties as Record<string, { type: string; default: unknown }>
    expect(Object.keys(table).sort()).toEqual(Object.keys(props).sort())
    for (const [name, prop] of Object.entries(props)) {
      expect(table[name]!.type, name).toBe(prop.type)
      expect(table[name]!.default, name).toBe(String(prop.default))
    }
  })

  it('the README documents every error code the plugin makes', () => {
    const section = readme.split('## Errors')[1]!.split('\n## ')[0]!
    for (const code of Object.values(RpcErrorCodes)) expect(section, code).toContain(`| \`${code}\``)
  })

  it('is a plugin named rpc that provides rpc, requires transport and codec, wire 2 (streaming calls)', () => {
    expect(rpc).toMatchObject({ name: 'rpc', kernel: '^1', provides: ['rpc'], requires: ['transport', 'codec'], wire: 2 })
    expect(rpc.version).toMatch(/^\d+\.\d+\.\d+/)
  })
})
