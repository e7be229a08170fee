// Where a prebuilt bundle's bytes go: per package (and with --files per source file), the bytes
// in the minified output (esbuild's metafile) and an estimate of the min+gzip share (leave one out:
// the unminified bundle is cut at esbuild's `// path` module comments, each part minified alone,
// and a part's share is gzip(all parts) minus gzip(all parts but it); the shares sum to about the
// real min+gzip size). The numbers in README.md "Sizes" come from here.
//
//   node scripts/sizes.mjs [echostream|echostream-full] [--files]
import { transform } from 'esbuild'
import { gzipSync } from 'node:zlib'
import { buildBundles } from './build.mjs'

const name = process.argv.find((a) => a.startsWith('echostream')) ?? 'echostream'
const files = process.argv.includes('--files')
const KB = 1024
const gz = (text) => gzipSync(text, { level: 9 }).byteLength
const packageOf = (file) => (file.includes('/light/') ? 'kernel/core (light)' : (file.match(/(kernel\/core|plugins\/[^/]+|presets\/[^/]+)\//)?.[1] ?? file))

const minified = (await buildBundles()).find((b) => b.name === name)
const plain = (await buildBundles({ minify: false })).find((b) => b.name === name)
const minBytes = new Map()
for (const output of Object.values(minified.metafile.outputs)) {
  for (const [file, { bytesInOutput }] of Object.entries(output.inputs)) if (bytesInOutput > 0) minBytes.set(file, bytesInOutput)
}

const parts = []
for (const part of new TextDecoder().decode(plain.code).split(/\n(?=\/\/ [^\n]*\n)/)) {
  const file = part.match(/^\/\/ ([^\n]*)/)?.[1] ?? '(bundle)'
  const code = (await transform(part, { minify: true, format: 'esm', logLevel: 'silent' }).catch(() => ({ code: part }))).code
  parts.push({ file, code })
}
const whole = gz(parts.map((p) => p.code).join(''))
const rows = new Map()
for (const [i, { file }] of parts.entries()) {
  const share = whole - gz(parts.filter((_, j) => j !== i).map((p) => p.code).join(''))
  const row = rows.get(file) ?? { min: minBytes.get(file) ?? 0, share: 0 }
  row.share += share
  rows.set(file, row)
}

console.log(`${name}.js: ${(minified.min / KB).toFixed(1)} KB min, ${(minified.gzip / KB).toFixed(1)} KB min+gzip`)
const byPackage = new Map()
for (const [file, row] of rows) {
  const total = byPackage.get(packageOf(file)) ?? { min: 0, share: 0 }
  total.min += row.min
  total.share += row.share
  byPackage.set(packageOf(file), total)
}
const table = (map) => [...map].sort((a, b) => b[1].share - a[1].share).map(([what, { min, share }]) => `${(min / KB).toFixed(1).padStart(6)} KB min ${(share / KB).toFixed(2).padStart(6)} KB gzip share  ${what}`)
console.log(table(byPackage).join('\n'))
if (files) console.log(`\nper file:\n${table(rows).join('\n')}`)
