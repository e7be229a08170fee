import { describe, expect, it } from 'vitest'
import { PROTOCOL_VERSION } from '@echostream/kernel'
import { encodeTxt, instanceName, parseTxt, serviceUrl, toDiscovered, matchesName } from '../../src/txt.js'
import { incompatibility } from '../../src/find-server.js'

const info = { name: 'chat', protocol: 1, codec: 'msgpack', plugins: { rpc: 1, events: 2 }, appVersion: '1.2.3', scheme: 'ws', path: '/' }

describe('TXT record', () => {
  it('encodes the advertised fields and parses them back', () => {
    const txt = encodeTxt(info)
    expect(txt).toEqual({ txtvers: '1', name: 'chat', proto: '1', codec: 'msgpack', plugins: 'rpc:1,events:2', app: '1.2.3', scheme: 'ws', path: '/' })
    expect(parseTxt(txt)).toEqual({ txtVersion: 1, name: 'chat', protocol: 1, codec: 'msgpack', plugins: { rpc: 1, events: 2 }, appVersion: '1.2.3', scheme: 'ws', path: '/', properties: {}, raw: txt })
  })

  it('leaves out empty values and strings over 255 bytes, with a warning', () => {
    const warnings: string[] = []
    const txt = encodeTxt({ ...info, plugins: {}, appVersion: 'x'.repeat(300) }, (m) => warnings.push(m))
    expect(txt).not.toHaveProperty('plugins')
    expect(txt).not.toHaveProperty('app')
    expect(warnings).toEqual([expect.stringContaining("'app'")])
  })

  it('never throws on garbage from the network', () => {
    const parsed = parseTxt({ proto: 'one', plugins: 'rpc,:3,x:y,ok:7,', scheme: 'ws://evil', path: 'no-slash', name: undefined, txtvers: '-1' })
    expect(parsed).toMatchObject({ plugins: { ok: 7 }, scheme: 'ws', path: '/' })
    expect(parsed.protocol).toBeUndefined()
    expect(parsed.txtVersion).toBeUndefined()
    expect(parsed.name).toBeUndefined()
    expect(parseTxt({})).toEqual({ plugins: {}, scheme: 'ws', path: '/', properties: {}, raw: {} })
  })
})

describe('names and urls', () => {
  it('makes unique DNS-SD instance names that fit a DNS label and keep the port', () => {
    expect(instanceName('chat', 'box.local', 5000)).toBe('chat@box-local:5000')
    const long = instanceName('n'.repeat(40), 'h'.repeat(60), 65535)
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(63)
    expect(long.endsWith(':65535')).toBe(true)
    expect(Buffer.byteLength(instanceName('ü'.repeat(40), 'host', 1))).toBeLessThanOrEqual(63)
  })

  it('builds urls, bracketing IPv6 addresses', () => {
    expect(serviceUrl('ws', '192.168.1.2', 5000, '/')).toBe('ws://192.168.1.2:5000')
    expect(serviceUrl('wss', 'fe80::1', 443, '/rt')).toBe('wss://[fe80::1]:443/rt')
  })

  it('connects to the address the answer came from, not the advertised interface list', () => {
    const service = toDiscovered({ instance: 'chat@box:5000', fqdn: 'chat@box:5000._echostream._tcp.local', host: 'box', port: 5000, referer: { address: '10.0.0.7', family: 'IPv4' }, txt: encodeTxt(info) })
    expect(service).toMatchObject({ name: 'chat', address: '10.0.0.7', url: 'ws://10.0.0.7:5000', host: 'box' })
    expect(toDiscovered({ instance: 'x', fqdn: 'x', host: 'box', port: 5000, txt: {} })).toMatchObject({ name: 'x', address: 'box', url: 'ws://box:5000' })
    expect(toDiscovered({ instance: 'x', fqdn: 'x', host: 'box', port: 0, txt: {} })).toBeUndefined()
    expect(matchesName(service!, 'chat')).toBe(true)
    expect(matchesName(service!, 'chat@box:5000')).toBe(true)
    expect(matchesName(service!, 'other')).toBe(false)
    expect(matchesName(service!, undefined)).toBe(true)
  })
})

describe('incompatibility', () => {
  const service = (fields: Record<string, string>) => toDiscovered({ instance: 'i', fqdn: 'i', host: 'h', port: 1, referer: { address: '127.0.0.1', family: 'IPv4' }, txt: fields })!
  const txt = encodeTxt({ ...info, protocol: PROTOCOL_VERSION })

  it('accepts a server with the same protocol, codec and wire plugins', () => {
    expect(incompatibility(service(txt), 'msgpack', { rpc: 1 })).toBeUndefined()
    expect(incompatibility(service(txt), 'msgpack', {})).toBeUndefined()
  })

  it('names what differs', () => {
    expect(incompatibility(service({ ...txt, proto: String(PROTOCOL_VERSION + 1) }), 'msgpack', {})).toContain('protocol')
    expect(incompatibility(service(txt), 'json', {})).toContain("codec 'msgpack'")
    expect(incompatibility(service(txt), 'msgpack', { streams: 1 })).toContain("no plugin 'streams'")
    expect(incompatibility(service(txt), 'msgpack', { events: 1 })).toContain("plugin 'events' at wire 2")
    const { plugins: _, ...none } = txt
    expect(incompatibility(service(none), 'msgpack', { rpc: 1 })).toContain("no plugin 'rpc'")
  })

  it('gives a record without txtvers the benefit of the doubt', () => {
    expect(incompatibility(service({ name: 'old' }), 'msgpack', { rpc: 1 })).toBeUndefined()
  })
})
