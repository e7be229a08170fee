/** A TCP proxy in front of a server, to cut a page's link (drop) or silence it (blackhole) for real. */
import { createServer, connect, type Server, type Socket } from 'node:net'

export interface Proxy {
  url: string
  /** Destroys every proxied connection (both ends see the link die); new ones are proxied again. */
  drop(): void
  /**
   * Stops forwarding on every current connection and keeps it open: a silent, dead link. Nothing
   * crosses any more, not even the server closing its end (a server that times the link out
   * first would otherwise close the page's socket before the page's own deadline could notice).
   */
  blackhole(): void
  close(): Promise<void>
}

export async function startProxy(target: string): Promise<Proxy> {
  const { hostname, port } = new URL(target)
  const pairs = new Set<[Socket, Socket]>()
  const server: Server = createServer((client) => {
    const upstream = connect(Number(port), hostname)
    const pair: [Socket, Socket] = [client, upstream]
    pairs.add(pair)
    client.pipe(upstream)
    upstream.pipe(client)
    const end = () => {
      pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const drop = () => {
    for (const [client, upstream] of pairs) {
      client.destroy()
      upstream.destroy()
    }
  }
  return {
    url: `ws://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    drop,
    blackhole() {
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream)
        upstream.unpipe(client)
        client.pause()
        upstream.pause()
        // The server's side may die now; the page's stays open until the page or close() ends it.
        upstream.removeAllListeners('close').removeAllListeners('error').on('error', () => {})
      }
    },
    async close() {
      drop()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
