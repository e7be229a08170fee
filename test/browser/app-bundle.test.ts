/**
 * An application's own bundler, not our prebuilt bundle: the client packages imported by name and
 * bundled by esbuild with `platform: 'browser'` (the `browser` export condition and package.json
 * `browser` fields, as Vite, webpack and esbuild apply them for a page; `development` as Vite's dev
 * server adds it, so the workspace's sources are bundled). Nothing Node-only may come along: no
 * Node built-in (esbuild fails on one), and none of ajv, fast-uri, semver, tapable, msgpackr or ws —
 * the kernel's `browser` field maps ajv, semver and tapable to its light versions, codec-msgpack and
 * transport-ws have browser builds of their own. Nor the server's side of the handshake, of
 * reconnect, of events (broadcast, rooms) or of clock sync: their `browser` fields map them to
 * stand-ins that refuse as a client does.
 */
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

// esbuild as the browser preset has it (its devDependency).
const presetRequire = createRequire(createRequire(import.meta.url).resolve('@echostream/preset-browser/package.json'))
const { build } = presetRequire('esbuild') as { build(options: object): Promise<{ errors: unknown[]; metafile: { inputs: Record<string, unknown> } }> }

const APP = `
import { createKernel, EchoError } from '@echostream/kernel'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import rpc from '@echostream/plugin-rpc'
import events from '@echostream/plugin-events'
import reconnect from '@echostream/plugin-reconnect'
import streams from '@echostream/plugin-streams'
import clockSync from '@echostream/plugin-clock-sync'
const client = await createKernel({ role: 'client', url: location.origin.replace('http', 'ws'), plugins: [transportWs, codecMsgpack, rpc, events, reconnect, streams, clockSync] })
await client.start()
console.log(client.rpc, client.events, client.streams, EchoError)
`
const NODE_ONLY = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?(ajv|fast-uri|semver|tapable|msgpackr|msgpackr-extract|ws)\//

describe('an app bundling the client packages for a browser', () => {
  it('gets no Node built-in and none of ajv, semver, tapable, msgpackr or ws', async () => {
    const out = await build({
      stdin: { contents: APP, resolveDir: fileURLToPath(new URL('.', import.meta.url)), loader: 'ts', sourcefile: 'app.ts' },
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      conditions: ['development'],
      write: false,
      metafile: true,
      logLevel: 'silent',
    })
    expect(out.errors).toEqual([])
    const inputs = Object.keys(out.metafile.inputs)
    // The packages really are in the bundle (so the check below looks at something).
    for (const pkg of ['kernel/core/src/kernel.ts', 'plugins/rpc/src/', 'plugins/streams/src/', 'plugins/clock-sync/src/', 'transport-ws/src/browser/', 'codec-msgpack/src/browser/', 'kernel/core/src/light/']) {
      expect(inputs.some((file) => file.includes(pkg)), `${pkg} in the app's bundle`).toBe(true)
    }
    expect(inputs.filter((file) => NODE_ONLY.test(file))).toEqual([])
    // Server-only modules have browser stand-ins (a page is a client).
    expect(inputs.filter((file) => /kernel\/core\/src\/handshake\/server\.ts$|plugins\/(reconnect|events|clock-sync)\/src\/server\.ts$/.test(file))).toEqual([])
    expect(inputs.filter((file) => file.startsWith('node:') || /(^|\/)node_modules\/@types\/node\//.test(file))).toEqual([])
  })
})
