import { describe, expect, it } from 'vitest'
import { editDistance, orList, suggest } from '../../src/suggest.js'

describe('suggest', () => {
  it('counts a swapped pair as one edit', () => {
    expect(editDistance('rcp', 'rpc')).toBe(1)
    expect(editDistance('evnets', 'events')).toBe(1)
    expect(editDistance('', 'abc')).toBe(3)
    expect(editDistance('kitten', 'sitting')).toBe(3)
  })

  it('returns only the nearest candidates, never the input itself, nothing when all are far', () => {
    expect(suggest('math.ad', ['math.add', 'math.multiply', 'math.sub'])).toEqual(['math.add'])
    expect(suggest('transport-wss', ['transport-ws', 'transport-tcp'])).toEqual(['transport-ws'])
    expect(suggest('math.add', ['math.add'])).toEqual([])
    expect(suggest('zzz', ['math.add', 'rpc'])).toEqual([])
    expect(suggest('ab', ['ac', 'ad', 'xy'])).toEqual(['ac', 'ad'])
  })

  it('compares through a key, case-insensitively', () => {
    const short = (n: string) => n.replace(/^@echostream\/plugin-/, '')
    expect(suggest('RPC', ['@echostream/plugin-rpc', '@echostream/plugin-auth'], { key: short })).toEqual(['@echostream/plugin-rpc'])
  })

  it('orList quotes and joins', () => {
    expect(orList([])).toBe('')
    expect(orList(['a'])).toBe("'a'")
    expect(orList(['a', 'b', 'c'])).toBe("'a', 'b' or 'c'")
  })
})
