import { build } from 'esbuild'
import { gzipSync } from 'node:zlib'
import { readFile } from 'node:fs/promises'
import * as b from '/work/wt-bsize/presets/browser/scripts/build.mjs'
const stubs = JSON.parse(process.argv[2])
const plugin = { name: 'exp', setup(bb) {
  bb.onLoad({ filter: /\.ts$/ }, async (args) => {
    for (const [re, body] of Object.entries(stubs)) if (new RegExp(re).test(args.path)) return { contents: body, loader: 'ts' }
    let c = await readFile(args.path, 'utf8')
    if (/\/(kernel\/core|plugins\/[^/]+)\/src\//.test(args.path) && !/describe\.ts$|transport-ws\/src\/browser\/connection\.ts$/.test(args.path)) c = b.shortenMessages(/options\.ts$/.test(args.path) ? b.stripDescriptions(c) : c, args.path, new Map())
    return { contents: c, loader: 'ts' }
  })
}}
const out = await build({ entryPoints: ['/work/wt-bsize/presets/browser/src/index.ts'], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', conditions: ['development'], minify: true, legalComments: 'none', write: false, logLevel: 'silent', plugins: [plugin] })
const code = out.outputFiles[0].contents
console.log((code.byteLength/1024).toFixed(1), (gzipSync(code, { level: 9 }).byteLength/1024).toFixed(2))
