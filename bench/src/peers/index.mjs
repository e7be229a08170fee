/**
 * The peers, in table order. The first is the limit: every ratio is peer / limit.
 *
 * To add a peer: write `src/peers/<name>.mjs` exporting `startServer({ mode })` and
 * `connect(port, { mode })` (see README "Adding a peer"), add it here (with `skip: { metric: why }`
 * for a workload it cannot do), and add its packages to bench/package.json as devDependencies.
 * Every peer runs on plain node (echostream's packages from their built dist/).
 * `overLimit: why` — a peer the limit (raw ws + msgpackr) does not bound (another transport): the
 * "limit is fastest" check skips it, and the table says why.
 */
/** Clock sync is echostream's own feature: nothing to compare it with in the other peers. */
const NO_CLOCK_SYNC = 'no clock synchronisation to measure'
/** The tuned stream row is echostream's flow-control window set by hand; the others have no such window. */
const NO_WINDOW = 'no stream window to tune (the stream row is their only one)'

export const peers = [
  // The limit runs the tuned stream row too (its plain stream, again): the row's ratio is then to a
  // limit measured in the same group, minutes apart from nothing.
  { name: 'limit', module: './limit.mjs', skip: { clock: NO_CLOCK_SYNC } },
  { name: 'echostream', module: './echostream.mjs' },
  {
    name: 'echostream-tcp',
    module: './echostream-tcp.mjs',
    overLimit: 'echostream-tcp runs over plain TCP (transport-tcp), not WebSocket: the ws limit does not bound it',
    skip: { clock: 'the clock row is echostream over ws; clock sync does not depend on the transport' },
  },
  { name: 'socket.io', module: './socketio.mjs', skip: { clock: NO_CLOCK_SYNC, 'stream-tuned': NO_WINDOW } },
  {
    name: 'rpc-websockets',
    module: './rpc-websockets.mjs',
    skip: { stream: 'JSON text only: binary chunks would have to travel as base64 strings', 'stream-tuned': NO_WINDOW, clock: NO_CLOCK_SYNC },
  },
]

export const LIMIT = peers[0].name

export function findPeer(name) {
  const peer = peers.find((p) => p.name === name)
  if (!peer) throw new Error(`Unknown peer '${name}' (known: ${peers.map((p) => p.name).join(', ')})`)
  return peer
}

export async function loadPeer(name) {
  return import(new URL(findPeer(name).module, import.meta.url).href)
}
