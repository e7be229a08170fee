/**
 * Listening with a plugin's own small HTTP server (observability's admin port, the devtools page):
 * bind, report the URL, and close without waiting for idle keep-alive sockets. Typed by shape, so
 * the core imports no Node module; only server-side plugins on Node call it.
 */

/** The part of Node's `http.Server` this uses. */
export interface HttpServerLike {
  keepAliveTimeout: number
  once(event: 'error', listener: (error: Error) => void): unknown
  listen(port: number, host: string, callback: () => void): unknown
  address(): unknown
  close(callback: () => void): unknown
  closeAllConnections(): void
}

export interface HttpListener {
  /** `http://host:port` as bound (IPv6 hosts in brackets; port 0 resolved). */
  url: string
  close(): Promise<void>
}

/** Binds `server` to host:port; a bind failure rejects with `toError(the error)` (the plugin's coded error). */
export async function listenHttp(server: HttpServerLike, host: string, port: number, toError: (error: Error) => Error): Promise<HttpListener> {
  // Probes, scrapes and page loads are short: an idle keep-alive socket must not hold `close()` up.
  server.keepAliveTimeout = 1000
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(toError(error)))
    server.listen(port, host, () => resolve())
  })
  const address = server.address() as { address: string; family: string; port: number }
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    url: `http://${shownHost}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
