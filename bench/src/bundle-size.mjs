/**
 * Browser bundle sizes (`pnpm bench --only bundle`): what a web page downloads to talk to a server.
 * Measured once per run (a build is deterministic; repetitions add nothing), in the runner itself.
 *
 *   echostream      — presets/browser's prebuilt core bundle, `echostream.js` (kernel,
 *                     transport-ws, codec, rpc, events, reconnect), exactly as
 *                     `test/browser/size-budget.test.ts` builds it; and the full one,
 *                     `echostream-full.js` (+ streams, clock-sync), in its own row.
 *   limit           — the limit's client in a page: the browser's own WebSocket plus msgpackr's
 *                     Packr and Unpackr (bench/src/peers/limit.mjs's protocol needs nothing else).
 *   socket.io       — `io` from socket.io-client.
 *   rpc-websockets  — its browser `Client`.
 *
 * All with the same esbuild settings (ESM, platform browser, es2022, minified) and gzip level 9.
 */
import { gzipSync } from 'node:zlib'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { buildBundles } from '../../presets/browser/scripts/build.mjs'

const benchDir = fileURLToPath(new URL('..', import.meta.url))

/** What a page imports to be each peer's client. */
const ENTRIES = {
  limit: `export { Packr, Unpackr } from 'msgpackr'`,
  'socket.io': `export { io } from 'socket.io-client'`,
  'rpc-websockets': `export { Client } from 'rpc-websockets'`,
}

async function bundle(contents) {
  const out = await build({
    stdin: { contents, resolveDir: benchDir, loader: 'js' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    write: false,
    logLevel: 'silent',
  })
  const code = out.outputFiles[0].contents
  return { min: code.byteLength, gzip: gzipSync(code, { level: 9 }).byteLength }
}

/** `{ [peer]: { core, full? } }` of `{ min, gzip }` bytes, for the peers asked for (a peer whose bundle fails to build gets `error`). */
export async function bundleSizes(peerNames) {
  const sizes = {}
  for (const peer of peerNames) {
    try {
      if (peer === 'echostream') {
        const [core, full] = await buildBundles()
        sizes[peer] = { core: { min: core.min, gzip: core.gzip }, full: { min: full.min, gzip: full.gzip } }
      } else if (ENTRIES[peer]) sizes[peer] = { core: await bundle(ENTRIES[peer]) }
    } catch (error) {
      sizes[peer] = { error: error.message.split('\n')[0] }
    }
  }
  return sizes
}
