/**
 * Must show 1 with real processes: a server process advertises over mDNS (loopback only), a client
 * process configured with NO url discovers it, connects and does a round trip; both exit on their own.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { loopback, mdnsGroupOutsideLoopback, startPeer, udpSockets, uniqueName } from '../helpers/discovery-net.js'

const MDNS_PORT = 5371 // this file's own mDNS port: never 5353, never another test file's

describe('discovery-mdns across processes', () => {
  afterAll(() => {
    // This process opened no mDNS socket, and nothing joined the mDNS group outside loopback.
    expect(udpSockets(MDNS_PORT) ?? 0).toBe(0)
    expect(mdnsGroupOutsideLoopback()).toEqual([])
  })

  it('a client process with no url discovers the server process, connects and echoes', async () => {
    const name = uniqueName('proc')
    const server = startPeer({ role: 'server', exitAfterOne: true, discovery: { ...loopback(MDNS_PORT), name, appVersion: '3.1.4' } })
    const { url } = await server.waitFor('listening', 20_000)
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/)
    // While the server advertises, its mDNS membership is on loopback only.
    await server.waitFor('advertised', 20_000)
    expect(mdnsGroupOutsideLoopback()).toEqual([])

    const client = startPeer({ role: 'client', payload: 'hello over mDNS', discovery: { ...loopback(MDNS_PORT), service: name, timeoutMs: 15_000 } })
    const connected = await client.waitFor('connected', 25_000)
    expect(connected.url).toBe(url) // found by discovery: the client was given no url
    const pong = await client.waitFor('pong', 10_000)
    expect(pong.payload).toBe('hello over mDNS')

    const session = await server.waitFor('session', 5000)
    expect(session.id).toBe(connected.session)
    const echo = await server.waitFor('echo', 5000)
    expect(echo).toMatchObject({ session: connected.session, payload: 'hello over mDNS' })
    expect(client.lines.some((l) => l.event === 'log' && String(l.message).includes(`found '${name}@`))).toBe(true)

    // Both end by themselves: the client after its round trip, the server once its client left.
    // A Bonjour instance left open (socket + 5 s interval) would keep either one alive.
    expect(await client.exit(15_000), client.output()).toBe(0)
    expect(await server.exit(15_000), server.output()).toBe(0)
    expect(server.lines.map((l) => l.event)).toContain('stopped')
  })

  it('a client process finds nothing under another name and fails with a retryable E_CLOSED', async () => {
    const name = uniqueName('proc')
    const server = startPeer({ role: 'server', discovery: { ...loopback(MDNS_PORT), name } })
    await server.waitFor('advertised', 20_000)
    const client = startPeer({ role: 'client', discovery: { ...loopback(MDNS_PORT), service: `${name}-other`, timeoutMs: 1500 } })
    const failure = await client.waitFor('error', 20_000)
    expect(failure).toMatchObject({ code: 'E_CLOSED', retryable: true })
    expect(failure.message).toContain(`'${name}-other'`)
    expect(failure.message).toContain('`url`')
    expect(await client.exit(10_000), client.output()).toBe(2)
    server.child.kill('SIGTERM') // the server stops cleanly on SIGTERM and exits by itself
    expect(await server.exit(15_000), server.output()).toBe(0)
    expect(server.lines.some((l) => l.event === 'session')).toBe(false)
  })
})
