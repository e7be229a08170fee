/**
 * README table = schema = type (issue 11): every plugin's README has an `## Options` table that
 * names exactly the schema's top-level options, each with the schema's default. The types are
 * derived from the same schemas (`OptionsOf<typeof schema>`, kernel/core/test/types/options-of.test-d.ts).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { isPluginDefinition, type PluginDefinition } from '@echostream/kernel'

const PLUGINS = fileURLToPath(new URL('../../plugins/', import.meta.url))

interface Property {
  default?: unknown
  properties?: Record<string, Property>
}

/** The option rows of a README's `## Options` section: name → the text of its `default` column. */
function optionRows(readme: string): Map<string, string> {
  const section = readme.split(/^## Options\b.*$/m)[1]?.split(/^## /m)[0] ?? ''
  const lines = section.split('\n').filter((line) => line.startsWith('|'))
  // Cells are split on unescaped pipes (a type column may hold `'a' \| 'b'`).
  const cellsOf = (line: string) => line.split(/(?<!\\)\|/).map((cell) => cell.trim())
  const defaultColumn = cellsOf(lines[0] ?? '').map((cell) => cell.toLowerCase()).indexOf('default')
  const rows = new Map<string, string>()
  for (const line of lines.slice(2)) {
    const cells = cellsOf(line)
    // One row may name several options: `tls.cert`, `tls.key`.
    for (const [, name] of (cells[1] ?? '').matchAll(/`([\w.]+)`/g)) if (!rows.has(name!)) rows.set(name!, cells[defaultColumn] ?? '')
  }
  return rows
}

/** How a README writes a default: `true`, `100`, `"es"`, `'info'`, `[]`. */
function shown(value: unknown): string[] {
  const json = JSON.stringify(value)
  return typeof value === 'string' ? [json, `'${value}'`, value] : [json, String(value)]
}

const plugins = readdirSync(PLUGINS).sort()

describe('every plugin README lists exactly its schema options, with their defaults', () => {
  it.each(plugins)('%s', async (dir) => {
    const module = (await import(join(PLUGINS, dir, 'src', 'index.ts'))) as { default: unknown }
    expect(isPluginDefinition(module.default), `${dir} exports a plugin`).toBe(true)
    const plugin = module.default as PluginDefinition
    const properties = ((plugin.schema?.properties ?? {}) as Record<string, Property>)
    const rows = optionRows(readFileSync(join(PLUGINS, dir, 'README.md'), 'utf8'))
    // Code-only options (functions such as clock-sync's `now`) have no schema entry but a row.
    const codeOnly = [...rows.keys()].filter((name) => !(name.split('.')[0]! in properties))
    for (const name of codeOnly) expect(readFileSync(join(PLUGINS, dir, 'README.md'), 'utf8'), `${dir}: README row '${name}' is not in the schema`).toMatch(new RegExp(`\\| \`${name}\` \\|[^\\n]*(function|code only)`))
    const check = (name: string, property: Property) => {
      // An object option is documented by its fields (`tls.cert`, `throttle.banMs`) or as a whole.
      if (property.properties !== undefined && !rows.has(name)) {
        for (const [field, inner] of Object.entries(property.properties)) check(`${name}.${field}`, inner)
        return
      }
      expect(rows.has(name), `${dir}: option '${name}' has a README row`).toBe(true)
      if (property.default === undefined || typeof property.default === 'object') return
      const cell = rows.get(name)!.replace(/`/g, '')
      expect(shown(property.default).some((text) => cell === text || cell.startsWith(`${text} `)), `${dir}: '${name}' default ${JSON.stringify(property.default)}, README says ${cell}`).toBe(true)
    }
    for (const [name, property] of Object.entries(properties)) check(name, property)
  })
})
