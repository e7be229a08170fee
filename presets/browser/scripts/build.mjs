// Builds the prebuilt ESM bundles for pages without a bundler:
//   dist/bundle/echostream.js       kernel, transport-ws, codec-msgpack, rpc, events, reconnect
//   dist/bundle/echostream-full.js  the same plus streams and clock-sync
// Every package resolves through its `browser` export condition, from sources (the `development`
// condition), so nothing from Node may be reached: esbuild fails on any Node built-in.
// `node scripts/build.mjs` writes the files and prints their sizes; test/browser imports
// `buildBundles` (sizes for the budget test, files for the Chromium tests).
import { build } from 'esbuild'
import ts from 'typescript'
import { createHash } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import { mkdirSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const pkg = join(here, '..')

export const BUNDLES = [
  { name: 'echostream', entry: join(pkg, 'src/index.ts'), streaming: false },
  { name: 'echostream-full', entry: join(pkg, 'src/full.ts'), streaming: true },
]

/**
 * Streaming RPC stays out of the core bundle: rpc's streaming.ts (the streaming halves of its
 * requester and responder, with item-queue, call-stream and producer behind them) resolves to rpc's
 * src/no-streaming.browser.ts there (README "Decisions"); the full bundle keeps it.
 */
const noStreaming = {
  name: 'no-streaming-rpc',
  setup(b) {
    b.onResolve({ filter: /^\.\/streaming\.js$/ }, (args) => (/[\\/]plugins[\\/]rpc[\\/]src[\\/]/.test(args.importer) ? { path: join(pkg, '../../plugins/rpc/src/no-streaming.browser.ts') } : undefined))
  },
}

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
/**
 * Production messages (README "Decisions"): in the prebuilt bundles every message text — a string
 * or template literal of 30 characters or more with at least three spaces, in echostream's own
 * sources — becomes `<id>: <its values> (<where the full text is>)`, React-style: the literal is
 * replaced by a call of one injected function (scripts/message.mjs) with the id and the values, so
 * the bundles carry the common wording once instead of once per message. The error's code
 * and class stay (EchoError, `E_…`); the values a message names (method, option, sizes) stay; the
 * words are in ERRORS.md under the id (a hash of the text, so an id stays while its text does).
 * Not: value descriptions (describe.ts: they are values inside messages) and close reasons
 * (transport-ws's connection: they cross the wire in close frames).
 */
const OWN_SOURCES = /\/(?:kernel\/core|plugins\/[^/]+)\/src\/.+\.ts$/
const KEEP_TEXT = /\/kernel\/core\/src\/describe(?:\.browser)?\.ts$|\/plugins\/transport-ws\/src\/browser\/connection\.ts$/
/** The function that builds a production message in the bundles (scripts/message.mjs, injected). */
const MESSAGE = '__echoMessage'
const isMessage = (text) => text.length >= 30 && text.split(' ').length > 3
const idOf = (text) => BigInt('0x' + createHash('sha1').update(text).digest('hex').slice(0, 12)).toString(36).slice(0, 4)

/** `source` with its message literals shortened; each full text goes into `messages` (id → { text, file }). */
export function shortenMessages(source, file, messages) {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS)
  const edits = []
  const visit = (node) => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node) || ts.isTypeNode(node) || ts.isLiteralTypeNode(node)) return
    let parts
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) parts = [node.text]
    else if (ts.isTemplateExpression(node)) parts = [node.head.text, ...node.templateSpans.map((span) => span.literal.text)]
    const keyed = node.parent && (ts.isPropertyAssignment(node.parent) || ts.isPropertyDeclaration(node.parent) || ts.isEnumMember(node.parent)) && node.parent.name === node
    if (parts && !keyed && isMessage(parts.join('{}'))) {
      const text = parts.map((part, i) => (i === 0 ? part : `{${i}}${part}`)).join('')
      const id = idOf(text)
      const seen = messages.get(id)
      if (seen && seen.text !== text) throw new Error(`two messages with the id ${id}: change one (scripts/build.mjs, shortenMessages)`)
      messages.set(id, { text, file: seen?.file ?? file })
      const values = ts.isTemplateExpression(node) ? node.templateSpans.map((span) => `, ${source.slice(span.expression.getStart(sf), span.expression.end)}`).join('') : ''
      edits.push([node.getStart(sf), node.end, `${MESSAGE}(${JSON.stringify(id)}${values})`])
      return
    }
    if (ts.isTemplateExpression(node) || ts.isStringLiteral(node)) {
      // a short template: its expressions may hold messages of their own
      if (ts.isTemplateExpression(node)) for (const span of node.templateSpans) visit(span.expression)
      return
    }
    ts.forEachChild(node, visit)
  }
  visit(sf)
  let out = source
  for (const [start, end, text] of edits.sort((a, b) => b[0] - a[0])) out = out.slice(0, start) + text + out.slice(end)
  return out
}

/** ERRORS.md: every production message's id and full text (`{1}`, `{2}`… are its values in order). */
export function errorsDoc(messages) {
  const rows = [...messages].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([id, { text, file }]) => `| <a id="${id}"></a>\`${id}\` | ${file} | ${text.replace(/\|/g, '\\|').replace(/\n/g, ' ')} |`)
  return `# Messages of the prebuilt browser bundles

\`dist/bundle/echostream.js\` and \`echostream-full.js\` carry short messages: \`<id>: <values> (link here)\`.
The error's \`code\` and class (\`EchoError\`) are those of the Node build; this table has the full
text of each id (\`{1}\`, \`{2}\`… are the values the short message lists, in order). A bundler
building from the packages (not the prebuilt files) keeps the full messages. Generated by
\`node scripts/build.mjs\`; \`test/browser/size-budget.test.ts\` checks that it is current.

| id | source | message |
| --- | --- | --- |
${rows.join('\n')}
`
}

const pageSources = (messages) => ({
  name: 'page-sources',
  setup(b) {
    b.onLoad({ filter: OWN_SOURCES }, async (args) => {
      const path = args.path.replace(/\\/g, '/')
      let contents = await readFile(args.path, 'utf8')
      if (SCHEMA_FILES.test(path)) contents = stripDescriptions(contents)
      if (messages && !KEEP_TEXT.test(path)) contents = shortenMessages(contents, path.replace(/^.*?\/((?:kernel|plugins)\/)/, '$1'), messages)
      return { contents, loader: 'ts' }
    })
  },
})

/**
 * Builds both bundles; returns name, code, min and gzip sizes and esbuild's metafile of each, and
 * (as `messages`) the full text of every shortened message by id. `fullMessages: true` keeps them.
 */
export async function buildBundles({ outdir, minify = true, fullMessages = false } = {}) {
  const results = []
  const messages = fullMessages ? undefined : new Map()
  for (const { name, entry, streaming } of BUNDLES) {
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
      plugins: streaming ? [pageSources(messages)] : [noStreaming, pageSources(messages)],
      inject: messages ? [join(here, 'message.mjs')] : [],
    })
    const code = out.outputFiles[0].contents
    const result = { name, code, min: code.byteLength, gzip: gzipSync(code, { level: 9 }).byteLength, metafile: out.metafile }
    if (outdir) {
      mkdirSync(outdir, { recursive: true })
      writeFileSync(join(outdir, `${name}.js`), code)
    }
    results.push(result)
  }
  results.messages = messages ?? new Map()
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
  writeFileSync(join(pkg, 'ERRORS.md'), errorsDoc(results.messages))
  for (const r of results) console.log(`dist/bundle/${r.name}.js  ${(r.min / 1024).toFixed(1)} KB min, ${(r.gzip / 1024).toFixed(1)} KB min+gzip`)
}
