#!/usr/bin/env node
// Packs every publishable workspace package with `pnpm pack` (which rewrites `workspace:` ranges
// and applies `publishConfig`) into one folder, and, unless --no-deps, also writes tarballs of
// their third-party dependencies (ws, msgpackr, ajv, tapable, cosmiconfig, tsx, …, plus extras
// named with --extra) taken from the workspace's own node_modules. With both, an app can install
// with `npm install --offline` and no registry at all: see create-echostream's `--from`.
//
//   node scripts/pack-all.mjs [--out DIR] [--no-build] [--no-deps] [--extra NAME]... [--check] [--list]
//
// DIR defaults to <tmp>/echostream-pack; a DIR from an earlier run is emptied first, any other
// non-empty folder is refused.
// Writes DIR/*.tgz (workspace packages), DIR/deps/*.tgz (third-party) and DIR/manifest.json:
//   { "packages": { name: { version, file, dir } }, "deps": { name: { version, file } } }
// --check lists every tarball's files and fails when one misses dist/, types or README, or holds
// tests or sources (--list prints every file).
//
// Tests call `packAllCached()`: one build and one packing per state of the workspace, shared by
// test files running in parallel (a lock folder serialises them) and reused while nothing changed.
import { execFile as execFileCb, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { gunzipSync } from 'node:zlib'

const execFile = promisify(execFileCb)
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
/** Workspace folders that hold publishable packages (examples, test and bench are private). */
const PACKAGE_GLOBS = ['kernel', 'plugins/*', 'presets/*']
/** Always vendored: what create-echostream's apps and the packing tests need besides our packages' own dependencies. */
const DEFAULT_EXTRAS = ['tsx', 'typescript', '@types/node']

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'))

/** Publishable workspace packages: folders matching PACKAGE_GLOBS with a non-private package.json. */
export function workspacePackages(root = ROOT) {
  const dirs = []
  for (const glob of PACKAGE_GLOBS) {
    if (!glob.endsWith('/*')) dirs.push(join(root, glob))
    else {
      const parent = join(root, glob.slice(0, -2))
      for (const entry of readdirSync(parent, { withFileTypes: true })) if (entry.isDirectory()) dirs.push(join(parent, entry.name))
    }
  }
  return dirs
    .filter((dir) => existsSync(join(dir, 'package.json')))
    .map((dir) => ({ dir, pkg: readJson(join(dir, 'package.json')) }))
    .filter(({ pkg }) => pkg.name && !pkg.private)
}

async function pool(items, limit, fn) {
  const results = new Array(items.length)
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++
        results[i] = await fn(items[i], i)
      }
    }),
  )
  return results
}

/** Finds `name` as Node would from `fromDir` (node_modules folders upward); returns its real folder. */
function findPackage(name, fromDir) {
  let dir = fromDir
  for (;;) {
    const candidate = join(dir, 'node_modules', name)
    if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate)
    const parent = dirname(dir)
    if (parent === dir) return undefined
    dir = parent
  }
}

/**
 * The third-party dependency closure of `starts` (package folders): dependencies and the
 * optionalDependencies installed for this platform, followed through the pnpm store. Peer
 * dependencies are left to the consumer. Returns name → { version, dir }.
 */
export function dependencyClosure(starts, extras = [], root = ROOT) {
  const found = new Map()
  const queue = []
  const visit = (name, fromDir, optional, requiredBy) => {
    const dir = findPackage(name, fromDir)
    if (!dir) {
      if (optional) return
      throw new Error(`pack-all: cannot find ${name} (needed by ${requiredBy}) from ${fromDir}; run pnpm install`)
    }
    const pkg = readJson(join(dir, 'package.json'))
    const seen = found.get(name)
    if (seen) {
      if (seen.version !== pkg.version) throw new Error(`pack-all: two versions of ${name} in the closure (${seen.version} for ${seen.requiredBy}, ${pkg.version} for ${requiredBy}); npm overrides can map only one`)
      return
    }
    found.set(name, { version: pkg.version, dir, requiredBy })
    queue.push({ dir, pkg })
  }
  const workspaceNames = new Set(workspacePackages(root).map(({ pkg }) => pkg.name))
  for (const { dir, pkg } of starts) {
    for (const [name] of Object.entries(pkg.dependencies ?? {})) if (!workspaceNames.has(name)) visit(name, dir, false, pkg.name)
    for (const [name] of Object.entries(pkg.optionalDependencies ?? {})) if (!workspaceNames.has(name)) visit(name, dir, true, pkg.name)
  }
  for (const name of extras) visit(name, root, false, '--extra')
  while (queue.length) {
    const { dir, pkg } = queue.shift()
    for (const name of Object.keys(pkg.dependencies ?? {})) visit(name, dir, false, pkg.name)
    for (const name of Object.keys(pkg.optionalDependencies ?? {})) visit(name, dir, true, pkg.name)
  }
  return found
}

/**
 * Tars an installed package folder as an npm tarball (entries under `package/`), without nested
 * node_modules. `--hard-dereference`: the pnpm store hard-links files with equal contents (e.g.
 * @standard-schema/spec's index.d.ts and index.d.cts); tar would store the second as a link entry,
 * which npm's extraction drops, so the package would install without its index.d.ts.
 */
async function tarInstalled(dir, file) {
  await execFile('tar', ['-czf', file, '--hard-dereference', '--exclude=./node_modules', '--owner=0', '--group=0', '--transform=s,^\\.,package,', '-C', dir, '.'])
}

export const tarballName = (name, version) => `${name.replace(/^@/, '').replace(/\//g, '-')}-${version}.tgz`

/** File names in a .tgz, read with zlib and the ustar header layout (no tar binary needed). */
export function tarballFiles(file) {
  const data = gunzipSync(readFileSync(file))
  const names = []
  for (let offset = 0; offset + 512 <= data.length; ) {
    const header = data.subarray(offset, offset + 512)
    if (header.every((b) => b === 0)) break
    const field = (start, length) => header.subarray(start, start + length).toString('utf8').replace(/\0.*$/s, '')
    const size = parseInt(field(124, 12).trim() || '0', 8)
    const prefix = field(345, 155)
    const type = String.fromCharCode(header[156])
    const name = (prefix ? `${prefix}/` : '') + field(0, 100)
    if (type === '0' || type === '\0') names.push(name)
    offset += 512 + Math.ceil(size / 512) * 512
  }
  return names
}

/**
 * What a published tarball must and must not hold: dist/ JavaScript, declaration files for every
 * `types` export, README.md, package.json with no `workspace:` range; no src/, test/, tsconfig or
 * build info. Returns a list of problems (empty when fine).
 */
export function checkTarball(file) {
  const problems = []
  const files = tarballFiles(file).map((f) => f.replace(/^package\//, ''))
  const has = (f) => files.includes(f)
  const pkg = JSON.parse(gunzipTarEntry(file, 'package/package.json'))
  const label = pkg.name ?? file
  if (!has('README.md')) problems.push(`${label}: no README.md`)
  if (!files.some((f) => f.startsWith('dist/') && f.endsWith('.js'))) problems.push(`${label}: no dist/*.js`)
  if (!files.some((f) => f.startsWith('dist/') && f.endsWith('.d.ts'))) problems.push(`${label}: no dist/*.d.ts`)
  for (const f of files) {
    if (/^(src|test|tests|__tests__)\//.test(f) || /(^|\/)tsconfig[^/]*\.json$/.test(f) || f.endsWith('.tsbuildinfo') || /\.test(-d)?\.[cm]?[jt]s$/.test(f) || /(^|\/)vitest\.config\./.test(f)) {
      problems.push(`${label}: ships ${f} (not for publishing)`)
    }
  }
  const walk = (value, path) => {
    if (typeof value === 'string') {
      if (/\.[cm]?ts$/.test(value) && !/\.d\.[cm]?ts$/.test(value)) problems.push(`${label}: ${path} points at TypeScript source ${value}`)
      if ((value.startsWith('./') || value.startsWith('dist/')) && !value.includes('*') && !has(value.replace(/^\.\//, ''))) problems.push(`${label}: ${path} points at ${value}, which is not in the tarball`)
    } else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, `${path}.${k}`)
  }
  walk(pkg.exports, 'exports')
  if (pkg.main) walk(pkg.main, 'main')
  if (pkg.types) walk(pkg.types, 'types')
  if (typeof pkg.bin === 'string') walk(pkg.bin, 'bin')
  else if (pkg.bin) walk(pkg.bin, 'bin')
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies', 'devDependencies']) {
    for (const [name, range] of Object.entries(pkg[field] ?? {})) if (String(range).startsWith('workspace:')) problems.push(`${label}: ${field}.${name} is still ${range}`)
  }
  return problems
}

/** One entry of a .tgz as text. */
export function gunzipTarEntry(file, wanted) {
  const data = gunzipSync(readFileSync(file))
  for (let offset = 0; offset + 512 <= data.length; ) {
    const header = data.subarray(offset, offset + 512)
    if (header.every((b) => b === 0)) break
    const field = (start, length) => header.subarray(start, start + length).toString('utf8').replace(/\0.*$/s, '')
    const size = parseInt(field(124, 12).trim() || '0', 8)
    const prefix = field(345, 155)
    const name = (prefix ? `${prefix}/` : '') + field(0, 100)
    if (name === wanted) return data.subarray(offset + 512, offset + 512 + size).toString('utf8')
    offset += 512 + Math.ceil(size / 512) * 512
  }
  throw new Error(`${file} has no ${wanted}`)
}

export async function packAll({ out, build = true, deps = true, extras = DEFAULT_EXTRAS, root = ROOT, log = () => {} } = {}) {
  out = resolve(out ?? join(tmpdir(), 'echostream-pack'))
  // Only a folder this script wrote (it has a manifest.json) or an empty one is emptied.
  if (existsSync(out) && readdirSync(out).length && !existsSync(join(out, 'manifest.json'))) {
    throw new Error(`pack-all: ${out} is not empty and was not written by pack-all; give an empty or new folder to --out`)
  }
  rmSync(out, { recursive: true, force: true })
  mkdirSync(join(out, 'deps'), { recursive: true })
  if (build) buildWorkspace(root, log)
  const packages = workspacePackages(root)
  const started = Date.now()
  const manifest = { packages: {}, deps: {} }
  await pool(packages, 4, async ({ dir, pkg }) => {
    // pnpm prints the tarball path last; --pack-destination keeps the package folders clean.
    await execFile('pnpm', ['pack', '--pack-destination', out], { cwd: dir, env: { ...process.env, npm_config_update_notifier: 'false' } })
    const file = tarballName(pkg.name, pkg.version)
    if (!existsSync(join(out, file))) throw new Error(`pack-all: pnpm pack in ${dir} wrote no ${file}`)
    manifest.packages[pkg.name] = { version: pkg.version, file, dir: relative(root, dir) }
  })
  log(`packed ${packages.length} workspace packages in ${Date.now() - started} ms`)
  if (deps) {
    const depsStarted = Date.now()
    const closure = dependencyClosure(packages, extras, root)
    await pool([...closure], 4, async ([name, { version, dir }]) => {
      const file = `deps/${tarballName(name, version)}`
      await tarInstalled(dir, join(out, file))
      manifest.deps[name] = { version, file }
    })
    log(`wrote ${closure.size} third-party tarballs in ${Date.now() - depsStarted} ms`)
  }
  const sort = (o) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)))
  manifest.packages = sort(manifest.packages)
  manifest.deps = sort(manifest.deps)
  writeFileSync(join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`)
  return { out, manifest }
}

function buildWorkspace(root, log) {
  const started = Date.now()
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b'], { cwd: root, encoding: 'utf8' })
  if (tsc.status !== 0) throw new Error(`pack-all: tsc -b failed:\n${tsc.stdout}${tsc.stderr}`)
  log(`built in ${Date.now() - started} ms`)
}

/** A hash of everything that goes into the tarballs: manifests, READMEs, dist/ and bin/ files (size, mtime), the lockfile and this script. */
function fingerprint(root) {
  const hash = createHash('sha256')
  const addFile = (file) => {
    if (!existsSync(file)) return
    const st = statSync(file)
    hash.update(`${relative(root, file)}\0${st.size}\0${st.mtimeMs}\0`)
  }
  const addTree = (dir) => {
    if (!existsSync(dir)) return
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) addTree(path)
      else addFile(path)
    }
  }
  for (const { dir } of workspacePackages(root)) {
    for (const f of ['package.json', 'README.md', 'PROTOCOL.md']) addFile(join(dir, f))
    addTree(join(dir, 'dist'))
    addTree(join(dir, 'bin'))
  }
  addFile(join(root, 'pnpm-lock.yaml'))
  addFile(fileURLToPath(import.meta.url))
  return hash.digest('hex').slice(0, 16)
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
/** Cache entries older than this are removed when a new one is written. */
const CACHE_MAX_AGE_MS = 60 * 60 * 1000

function pidAlive(pid) {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return error.code === 'EPERM'
  }
}

/**
 * Builds (`tsc -b`), then returns the packed folder for this state of the workspace, packing it
 * only when no earlier run left one: `<tmp>/echostream-pack-cache/<fingerprint>/`. A lock folder
 * keeps concurrent callers (vitest runs test files in parallel) from building or packing at once;
 * a lock whose owner died is taken over. Older cache entries are removed. Treat the result as
 * read-only: other test files use it too.
 */
export async function packAllCached({ build: doBuild = true, root = ROOT, cacheRoot = join(tmpdir(), 'echostream-pack-cache'), log = () => {}, lockTimeoutMs = 300_000 } = {}) {
  mkdirSync(cacheRoot, { recursive: true })
  const lock = join(cacheRoot, 'lock')
  const deadline = Date.now() + lockTimeoutMs
  for (;;) {
    try {
      mkdirSync(lock)
      writeFileSync(join(lock, 'pid'), String(process.pid))
      break
    } catch (error) {
      if (error.code !== 'EEXIST') throw error
      let owner
      try {
        owner = Number(readFileSync(join(lock, 'pid'), 'utf8'))
      } catch {}
      if (owner && !pidAlive(owner)) {
        rmSync(lock, { recursive: true, force: true })
        continue
      }
      if (Date.now() > deadline) throw new Error(`pack-all: ${lock} has been held for ${lockTimeoutMs} ms by pid ${owner}; remove it if that process is gone`)
      await sleep(200)
    }
  }
  try {
    if (doBuild) buildWorkspace(root, log)
    const key = fingerprint(root)
    const out = join(cacheRoot, key)
    if (existsSync(join(out, 'manifest.json'))) {
      log(`reusing ${out}`)
      return { out, manifest: JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')), reused: true }
    }
    const staging = join(cacheRoot, `${key}.staging-${process.pid}`)
    const { manifest } = await packAll({ out: staging, build: false, root, log })
    rmSync(out, { recursive: true, force: true })
    renameSync(staging, out)
    // Prune what is old: another test run on this machine may still be installing from a recent entry.
    for (const entry of readdirSync(cacheRoot)) {
      if (entry === key || entry === 'lock') continue
      const path = join(cacheRoot, entry)
      if (Date.now() - statSync(path).mtimeMs > CACHE_MAX_AGE_MS) rmSync(path, { recursive: true, force: true })
    }
    return { out, manifest, reused: false }
  } finally {
    rmSync(lock, { recursive: true, force: true })
  }
}

async function main() {
  const args = process.argv.slice(2)
  const opt = (name) => {
    const i = args.indexOf(name)
    return i >= 0 ? args[i + 1] : undefined
  }
  const extras = [...DEFAULT_EXTRAS]
  args.forEach((a, i) => a === '--extra' && args[i + 1] && extras.push(args[i + 1]))
  const { out, manifest } = await packAll({
    out: opt('--out'),
    build: !args.includes('--no-build'),
    deps: !args.includes('--no-deps'),
    extras,
    log: (m) => console.log(`pack-all: ${m}`),
  })
  let failed = false
  for (const { file } of Object.values(manifest.packages)) {
    const problems = checkTarball(join(out, file))
    if (args.includes('--check') || args.includes('--list')) {
      console.log(`\n${file}`)
      if (args.includes('--list')) for (const f of tarballFiles(join(out, file))) console.log(`  ${f}`)
    }
    for (const p of problems) console.log(`  problem: ${p}`)
    failed ||= problems.length > 0
  }
  console.log(`pack-all: ${Object.keys(manifest.packages).length} packages and ${Object.keys(manifest.deps).length} dependencies in ${out}`)
  if (failed && args.includes('--check')) process.exit(1)
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(error.message ?? error)
    process.exit(1)
  })
}
