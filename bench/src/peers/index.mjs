/**
 * The peers, in table order. The first is the limit: every ratio is peer / limit.
 *
 * To add a peer: write `src/peers/<name>.mjs` exporting `startServer({ metric })` and
 * `connect(port, { metric })` (see README "Adding a peer"), add it here (with `skip: { metric: why }`
for a workload it cannot do), and add its packages to
 * bench/package.json as devDependencies.
 */
/** Clock sync is echostream's own feature: nothing to compare it with in the other peers. */
const NO_CLOCK_SYNC = 'no clock synchronisation to measure'

export const peers = [
  { name: 'limit', module: './limit.mjs', runtime: 'node', skip: { clock: NO_CLOCK_SYNC } },
  { name: 'echostream', module: './echostream.mjs', runtime: 'tsx' },
  { name: 'socket.io', module: './socketio.mjs', runtime: 'node', skip: { clock: NO_CLOCK_SYNC } },
  {
    name: 'rpc-websockets',
    module: './rpc-websockets.mjs',
    runtime: 'node',
    skip: { stream: 'JSON text only: binary chunks would have to travel as base64 strings', clock: NO_CLOCK_SYNC },
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
