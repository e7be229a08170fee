/**
 * The LAN recipe, proven without touching the machine's real network: two network namespaces the
 * test creates, joined by a veth pair (a private "LAN"). The server process advertises with
 * `interface` = its LAN address, the client process with `interface` = its own, no url; the client
 * connects across the link to the address the answer came from. Needs root and `ip`; skipped otherwise.
 */
import { spawnSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startPeer, uniqueName } from '../helpers/discovery-net.js'

const MDNS_PORT = 5374
const id = process.pid
const NS_SERVER = `es-disc-a-${id}`
const NS_CLIENT = `es-disc-b-${id}`
const net = `10.213.${id % 250}`
const SERVER_ADDRESS = `${net}.1`
const CLIENT_ADDRESS = `${net}.2`

function ip(...args: string[]): void {
  const out = spawnSync('ip', args, { encoding: 'utf8' })
  if (out.status !== 0) throw new Error(`ip ${args.join(' ')}: ${out.stderr || out.error?.message}`)
}

const canMakeNamespaces = process.platform === 'linux' && process.getuid?.() === 0 && spawnSync('ip', ['netns', 'list']).status === 0

describe.skipIf(!canMakeNamespaces)('discovery-mdns on a private LAN (network namespaces)', () => {
  beforeAll(() => {
    ip('netns', 'add', NS_SERVER)
    ip('netns', 'add', NS_CLIENT)
    ip('link', 'add', `esda${id}`, 'netns', NS_SERVER, 'type', 'veth', 'peer', 'name', `esdb${id}`, 'netns', NS_CLIENT)
    ip('-n', NS_SERVER, 'addr', 'add', `${SERVER_ADDRESS}/24`, 'dev', `esda${id}`)
    ip('-n', NS_CLIENT, 'addr', 'add', `${CLIENT_ADDRESS}/24`, 'dev', `esdb${id}`)
    for (const [ns, dev] of [[NS_SERVER, `esda${id}`], [NS_CLIENT, `esdb${id}`]] as const) {
      ip('-n', ns, 'link', 'set', dev, 'up')
      ip('-n', ns, 'link', 'set', 'lo', 'up')
    }
  })

  afterAll(() => {
    // Deleting a namespace deletes its end of the veth pair, and with it the other end.
    for (const ns of [NS_SERVER, NS_CLIENT]) spawnSync('ip', ['netns', 'del', ns])
  })

  it('a client with no url finds the server across the link and connects to its LAN address', async () => {
    const name = uniqueName('lan')
    const server = startPeer(
      { role: 'server', exitAfterOne: true, transport: { host: '0.0.0.0' }, discovery: { name, interface: SERVER_ADDRESS, bind: '0.0.0.0', mdnsPort: MDNS_PORT } },
      ['ip', 'netns', 'exec', NS_SERVER],
    )
    const { advertisement } = await server.waitFor('advertised', 20_000)
    const port = (advertisement as { port: number }).port

    const client = startPeer(
      { role: 'client', payload: 'across the veth', discovery: { service: name, interface: CLIENT_ADDRESS, bind: '0.0.0.0', mdnsPort: MDNS_PORT, timeoutMs: 15_000 } },
      ['ip', 'netns', 'exec', NS_CLIENT],
    )
    const connected = await client.waitFor('connected', 25_000)
    expect(connected.url).toBe(`ws://${SERVER_ADDRESS}:${port}`) // the address the answer came from
    expect((await client.waitFor('pong', 10_000)).payload).toBe('across the veth')
    const session = await server.waitFor('session', 5000)
    expect(String(session.peer)).toContain(CLIENT_ADDRESS)
    expect(await client.exit(15_000), client.output()).toBe(0)
    expect(await server.exit(15_000), server.output()).toBe(0)
  })
})
