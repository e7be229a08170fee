/** Custom TXT properties: the key and size rules, encoding beside the plugin's fields, parsing back. */
import { describe, expect, it } from 'vitest'
import { validateOptions } from '@echostream/node'
import { customProperties, MAX_TXT_RECORD, propertyProblems, RESERVED_KEYS, txtRecordSize } from '../../src/properties.js'
import { encodeTxt, parseTxt } from '../../src/txt.js'
import { schema } from '../../src/index.js'

const info = { name: 'asr', protocol: 1, codec: 'msgpack', plugins: { rpc: 2 }, scheme: 'ws', path: '/' }

describe('propertyProblems', () => {
  it('accepts printable keys and non-empty string values', () => {
    expect(propertyProblems({ caps: 'recognise,translate', slots: '4', 'x.y_z-1': 'ü ok = fine' })).toEqual([])
    expect(propertyProblems({})).toEqual([])
  })

  it('refuses bad keys: empty, "=", space, control or non-ASCII characters, over 63 characters', () => {
    for (const key of ['', 'a=b', 'a b', 'tab\t', 'ké', 'k'.repeat(64)]) {
      expect(propertyProblems({ [key]: 'v' }), JSON.stringify(key)).toEqual([expect.stringContaining('printable ASCII')])
    }
  })

  it("refuses the plugin's own keys, in any case, and keys that differ only in case", () => {
    for (const key of RESERVED_KEYS) expect(propertyProblems({ [key.toUpperCase()]: 'v' })).toEqual([expect.stringContaining('reserved')])
    expect(propertyProblems({ Caps: 'a', caps: 'b' })).toEqual([expect.stringContaining('differ only in case')])
  })

  it('refuses empty and non-string values', () => {
    expect(propertyProblems({ a: '' })).toEqual([expect.stringContaining('non-empty string')])
    expect(propertyProblems({ a: 4 as unknown as string })).toEqual([expect.stringContaining('non-empty string')])
    expect(propertyProblems(['a'])).toEqual([expect.stringContaining('must be an object')])
    expect(propertyProblems(null)).toEqual([expect.stringContaining('must be an object')])
  })

  it('limits one string to 255 bytes, counting UTF-8 bytes', () => {
    expect(propertyProblems({ k: 'v'.repeat(253) })).toEqual([]) // k=vvv… = 255 bytes
    expect(propertyProblems({ k: 'v'.repeat(254) })).toEqual([expect.stringContaining('256 bytes')])
    expect(propertyProblems({ k: 'é'.repeat(127) })).toEqual([expect.stringContaining('256 bytes')]) // 2 + 254
  })

  it('limits the whole record, with the plugin fields, to 1300 bytes, and lists every problem', () => {
    const base = encodeTxt(info)
    const six = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`k${i}`, 'v'.repeat(201)])) // 6 × (1 + 204) = 1230; the plugin's fields here take 72
    expect(txtRecordSize(six)).toBe(1230)
    expect(propertyProblems(six)).toEqual([])
    const [problem] = propertyProblems(six, base)
    expect(problem).toContain(`keep it within ${MAX_TXT_RECORD}`)
    expect(problem).toContain(`${1230 + txtRecordSize(base)} bytes`)
    expect(propertyProblems({ '': 'x', name: 'y', b: '' })).toHaveLength(3)
  })
})

describe('properties in the TXT record', () => {
  it('are encoded after the plugin fields and parsed back apart from them', () => {
    const txt = encodeTxt({ ...info, properties: { caps: 'recognise', slots: '2' } })
    expect(Object.keys(txt)).toEqual(['txtvers', 'name', 'proto', 'codec', 'plugins', 'scheme', 'path', 'caps', 'slots'])
    const parsed = parseTxt(txt)
    expect(parsed.properties).toEqual({ caps: 'recognise', slots: '2' })
    expect(parsed).toMatchObject({ name: 'asr', protocol: 1, plugins: { rpc: 2 } })
  })

  it("on receipt every key that is not the plugin's is a property, as received (never validated, never throws)", () => {
    expect(customProperties({ NAME: 'x', Caps: 'a', weird: '=', txtvers: '1' })).toEqual({ Caps: 'a', weird: '=' })
    expect(parseTxt({ name: 'w', 'ünï': 'x' }).properties).toEqual({ 'ünï': 'x' })
  })

  it('the option schema checks keys and values before setup does the rest', () => {
    expect(validateOptions(schema, { properties: { caps: 'a' } }, 'p', 'o')).toMatchObject({ properties: { caps: 'a' } })
    expect(() => validateOptions(schema, { properties: { 'a b': 'x' } }, 'p', 'o')).toThrow(/properties/)
    expect(() => validateOptions(schema, { properties: { a: '' } }, 'p', 'o')).toThrow(/properties/)
    expect(() => validateOptions(schema, { properties: { a: 1 } }, 'p', 'o')).toThrow(/properties/)
  })
})
