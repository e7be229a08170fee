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
import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const pkg = join(here, '..')

export const BUNDLES = [
  { name: 'echostream', entry: join(pkg, 'src/index.ts') },
  { name: 'echostream-full', entry: join(pkg, 'src/full.ts') },
]

// ajv, semver and tapable: the kernel's package.json `browser` field maps them to its light
// versions (kernel/core/src/light/), for this build as for an app's bundler.

/**
 * Plugin option schemas carry a `description` per option: the README's option table, for people
 * and tools, never read by a validator. The prebuilt bundles leave them out (4.2 KB minified in the
 * core bundle, 5.7 KB in the full one). Only the schema modules, and only string-literal values.
 */
const SCHEMA_FILES = /\/plugins\/[^/]+\/src\/options\.ts$|\/plugins\/clock-sync\/src\/index\.ts$/
const DESCRIPTION = /\bdescription:\s*(?:'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|`(?:[^`\\$]|\\.)*`)\s*,?/g
export function stripDescriptions(source) {
  const out = source.replace(DESCRIPTION, '')
  if (/\bdescription:/.test(out)) throw new Error('a schema description that is not a plain string literal: extend DESCRIPTION in scripts/build.mjs')
  return out
}
const noDescriptions = {
  name: 'no-schema-descriptions',
  setup(b) {
    b.onLoad({ filter: SCHEMA_FILES }, async (args) => ({ contents: stripDescriptions(await readFile(args.path, 'utf8')), loader: 'ts' }))
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
      plugins: [noDescriptions],
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
