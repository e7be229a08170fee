/**
 * The throttling key of a peer: its IP address without the port. An IPv4 address mapped into
 * IPv6 (`::ffff:10.0.0.1`) counts as the IPv4 address, so one client is one key on a dual stack.
 */
export function addressOf(peer: string): string {
  let host = peer
  if (peer.startsWith('[')) {
    const end = peer.indexOf(']')
    host = end > 0 ? peer.slice(1, end) : peer
  } else {
    const colon = peer.lastIndexOf(':')
    // One colon: `host:port`. More (a bare IPv6 address) or none: keep it whole.
    if (colon > 0 && peer.indexOf(':') === colon) host = peer.slice(0, colon)
  }
  host = host.toLowerCase()
  return host.startsWith('::ffff:') && host.includes('.') ? host.slice(7) : host
}
