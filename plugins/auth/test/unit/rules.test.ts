import { describe, expect, it } from 'vitest'
import { compileRules, describeRoles } from '../../src/rules.js'
import { addressOf } from '../../src/address.js'

const rules = compileRules({
  roles: { admin: ['*'], user: ['rpc:math.*', 'event:chat.*', 'room:lobby'], auditor: ['rpc:*.read'] },
  roleOf: 'role',
})

describe('compileRules', () => {
  it('matches kind:name patterns with * as any run of characters', () => {
    expect(rules.allows(['user'], { kind: 'rpc', name: 'math.add' })).toBe(true)
    expect(rules.allows(['user'], { kind: 'rpc', name: 'math.deep.sub' })).toBe(true)
    expect(rules.allows(['user'], { kind: 'rpc', name: 'mathx' })).toBe(false)
    expect(rules.allows(['user'], { kind: 'event', name: 'chat.msg' })).toBe(true)
    expect(rules.allows(['user'], { kind: 'room', name: 'lobby' })).toBe(true)
    expect(rules.allows(['user'], { kind: 'room', name: 'lobby2' })).toBe(false)
    expect(rules.allows(['user'], { kind: 'stream', name: 'math.add' })).toBe(false)
    expect(rules.allows(['auditor'], { kind: 'rpc', name: 'users.read' })).toBe(true)
    expect(rules.allows(['admin'], { kind: 'anything', name: 'at.all' })).toBe(true)
  })

  it('treats pattern characters other than * literally', () => {
    const r = compileRules({ roles: { u: ['rpc:a.b', 'room:(x)+'] }, roleOf: 'role' })
    expect(r.allows(['u'], { kind: 'rpc', name: 'aXb' })).toBe(false)
    expect(r.allows(['u'], { kind: 'room', name: '(x)+' })).toBe(true)
  })

  it('reads the role from identity[roleOf], a name or a list', () => {
    expect(rules.rolesOf({ role: 'user' })).toEqual(['user'])
    expect(rules.rolesOf({ role: ['user', 7, 'auditor'] })).toEqual(['user', 'auditor'])
    expect(rules.rolesOf('user')).toEqual([])
    expect(rules.rolesOf(undefined)).toEqual([])
    expect(compileRules({ roles: {}, roleOf: 'kind' }).rolesOf({ kind: 'x', role: 'y' })).toEqual(['x'])
  })

  it('refuses everything for no role or an unknown role', () => {
    expect(rules.allows([], { kind: 'rpc', name: 'math.add' })).toBe(false)
    expect(rules.allows(['nobody'], { kind: 'rpc', name: 'math.add' })).toBe(false)
    expect(rules.allows(['nobody', 'user'], { kind: 'rpc', name: 'math.add' })).toBe(true)
  })

  it('describes roles for messages', () => {
    expect(describeRoles([])).toBe('a session with no role')
    expect(describeRoles(['user'])).toBe("role 'user'")
    expect(describeRoles(['a', 'b'])).toBe("roles 'a', 'b'")
  })
})

describe('addressOf', () => {
  it('strips the port and maps IPv4-in-IPv6 to IPv4', () => {
    expect(addressOf('127.0.0.1:5555')).toBe('127.0.0.1')
    expect(addressOf('[::1]:5555')).toBe('::1')
    expect(addressOf('[::ffff:10.0.0.1]:1')).toBe('10.0.0.1')
    expect(addressOf('[2001:DB8::1]:443')).toBe('2001:db8::1')
    expect(addressOf('2001:db8::1')).toBe('2001:db8::1')
    expect(addressOf('example')).toBe('example')
  })
})
