// Builds the prebuilt ESM bundles for pages without a bundler:
//   dist/bundle/echostream.js       kernel, transport-ws, codec-msgpack, rpc, events, reconnect
//   dist/bundle/echostream-full.js  the same plus streams and clock-sync
// Every package resolves through its `browser` export condition, from sources (the `development`
// condition), so nothing from Node may be reached: esbuild fails on any Node built-in.
// `node scripts/build.mjs` writes the files and prints their sizes; test/browser imports
// `buildBundles` (sizes for the budget test, files for the Chromium tests).
import { build } from 'esbuild'
import { gzipSync } from 'node:zlib'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const pkg = join(here, '..')

export const BUNDLES = [
  { name: 'echostream', entry: join(pkg, 'src/index.ts') },
  { name: 'echostream-full', entry: join(pkg, 'src/full.ts') },
]

/*
 * What the kernel imports for Node-grade checks, swapped for small ones in a page (src/light/,
 * compared with the real ones by test/browser/light-checks.test.ts): ajv (102 KB minified, with
 * fast-uri 120) for a keyword walk, semver (20–28 KB) for a kernel-range check, tapable (17.4 KB,
 * code-generating hooks) for plain loops.
 */
const LIGHT = {
  ajv: `export * from ${JSON.stringify(join(pkg, 'src/light/ajv.ts'))}; export { default } from ${JSON.stringify(join(pkg, 'src/light/ajv.ts'))}`,
  semver: `export { default } from ${JSON.stringify(join(pkg, 'src/light/semver.ts'))}`,
  'semver/functions/satisfies.js': `export { satisfies as default } from ${JSON.stringify(join(pkg, 'src/light/semver.ts'))}`,
  'semver/ranges/valid.js': `export { validRange as default } from ${JSON.stringify(join(pkg, 'src/light/semver.ts'))}`,
  tapable: `export * from ${JSON.stringify(join(pkg, 'src/light/tapable.ts'))}`,
}
const lightChecks = {
  name: 'light-checks',
  setup(b) {
    b.onResolve({ filter: /^(ajv|semver|tapable)(\/.*)?$/ }, (args) => {
      if (!(args.path in LIGHT)) return undefined // anything else of theirs fails loudly below
      return { path: args.path, namespace: 'light' }
    })
    b.onLoad({ filter: /.*/, namespace: 'light' }, (args) => ({ contents: LIGHT[args.path], loader: 'js', resolveDir: pkg }))
  },
}

/** Builds both bundles; returns name, code, min and gzip sizes and esbuild's metafile of each. */
export async function buildBundles({ outdir, minify = true } = {}) {
  const results = []
  for (const { name, entry } of BUNDLES) {
    const out = await build({
      entryPoints: [entry],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      conditions: ['development'],
      minify,
      legalComments: 'none',
      write: false,
      metafile: true,
      logLevel: 'silent',
      inject: [join(here, 'buffer-shim.mjs')],
      plugins: [lightChecks],
    })
    const code = out.outputFiles[0].contents
    const result = { name, code, min: code.byteLength, gzip: gzipSync(code, { level: 9 }).byteLength, metafile: out.metafile }
    if (outdir) {
      mkdirSync(outdir, { recursive: true })
      writeFileSync(join(outdir, `${name}.js`), code)
    }
    results.push(result)
  }
  return results
}

/** Output bytes per package (or file outside packages), largest first: where the budget goes. */
export function breakdown(metafile) {
  const by = new Map()
  for (const output of Object.values(metafile.outputs)) {
    for (const [file, { bytesInOutput }] of Object.entries(output.inputs)) {
      const key = file.match(/node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/)?.[1] ?? file.match(/(kernel|plugins\/[^/]+|presets\/[^/]+)\//)?.[1] ?? file
      by.set(key, (by.get(key) ?? 0) + bytesInOutput)
    }
  }
  return [...by].sort((a, b) => b[1] - a[1])
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const results = await buildBundles({ outdir: join(pkg, 'dist/bundle') })
  for (const r of results) console.log(`dist/bundle/${r.name}.js  ${(r.min / 1024).toFixed(1)} KB min, ${(r.gzip / 1024).toFixed(1)} KB min+gzip`)
}
