#!/usr/bin/env node
// Packs every publishable workspace package with one `pnpm -r pack` (which rewrites `workspace:`
// ranges, applies `publishConfig` and runs `prepack`) into one folder, and, unless --no-deps, also
// writes tarballs of their third-party dependencies (ws, msgpackr, ajv, tapable, cosmiconfig, tsx,
// …, plus extras named with --extra) from the workspace's own node_modules. No tar code of ours:
// the system `tar` with flags GNU tar and bsdtar (macOS) share writes and reads them. With both, an app can install
// with `npm install --offline` and no registry at all: see create-echostream's `--from`.
//
//   node scripts/pack-all.mjs [--out DIR] [--no-build] [--no-deps] [--extra NAME]... [--check] [--list]
//
// DIR defaults to <tmp>/echostream-pack; a DIR from an earlier run is emptied first, any other
// non-empty folder is refused.
// Writes DIR/*.tgz (workspace packages), DIR/deps/*.tgz (third-party) and DIR/manifest.json:
//   { "packages": { name: { version, file, dir } }, "deps": { name: { version, file } } }
// --check lists every tarball's files and fails when one misses dist/, types, README or LICENSE,
// holds tests or sources, or names an absolute path (--list prints every file).
//
// Tests call `packAllCached()`: one build and one packing per state of the workspace, shared by
// test files running in parallel (a lock folder serialises them) and reused while nothing changed.
import { execFile as execFileCb, execFileSync, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { cp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const execFile = promisify(execFileCb)
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
/** Workspace folders that hold publishable packages (examples, test and bench are private). */
const PACKAGE_GLOBS = ['kernel/*', 'plugins/*', 'presets/*']
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

export const tarballName = (name, version) => `${name.replace(/^@/, '').replace(/\//g, '-')}-${version}.tgz`

/** File names in a .tgz (`tar -tzf`: the same flags on GNU tar and bsdtar). */
export function tarballFiles(file) {
  return execFileSync('tar', ['-tzf', file], { encoding: 'utf8', maxBuffer: 64 << 20 })
    .split('\n')
    .filter((name) => name && !name.endsWith('/'))
}

/** One entry of a .tgz as text (`tar -xzOf`). */
export function tarballEntry(file, wanted) {
  try {
    return execFileSync('tar', ['-xzOf', file, wanted], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] })
  } catch {
    throw new Error(`${file} has no ${wanted}`)
  }
}
export const gunzipTarEntry = tarballEntry

/** Every string value of a manifest that names an absolute path (`file:/…`, `/…`, `C:\…`). */
export function absolutePaths(value, path = '') {
  if (typeof value === 'string') return /^(file:|link:)?(\/|[A-Za-z]:[\\/])/.test(value) ? [`${path}: ${value}`] : []
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => absolutePaths(v, path ? `${path}.${k}` : k))
  return []
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
  const pkg = JSON.parse(tarballEntry(file, 'package/package.json'))
  const label = pkg.name ?? file
  if (!has('README.md')) problems.push(`${label}: no README.md`)
  if (!files.some((f) => /^LICEN[CS]E(\.md|\.txt)?$/i.test(f))) problems.push(`${label}: no LICENSE file`)
  if (!pkg.license) problems.push(`${label}: package.json has no license`)
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
  for (const p of absolutePaths(pkg)) problems.push(`${label}: package.json holds an absolute path (${p})`)
  for (const field of ['repository', 'homepage', 'bugs', 'keywords']) if (!pkg[field]) problems.push(`${label}: package.json has no ${field}`)
  // A source map must carry its sources (sourcesContent) or point at files the tarball has.
  for (const f of files.filter((f) => f.endsWith('.map'))) {
    const map = JSON.parse(tarballEntry(file, `package/${f}`))
    map.sources?.forEach((source, i) => {
      const shipped = join(dirname(f), source).replace(/\\/g, '/')
      if (typeof map.sourcesContent?.[i] !== 'string' && !has(shipped)) problems.push(`${label}: ${f} maps to ${source}, which is neither in the map nor in the tarball`)
    })
  }
  return problems
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
  const filters = packages.flatMap(({ dir }) => ['--filter', `./${relative(root, dir)}`])
  const packed = packJson(await run('pnpm', ['-r', ...filters, 'pack', '--pack-destination', out, '--json'], root))
  for (const { dir, pkg } of packages) {
    const file = tarballName(pkg.name, pkg.version)
    if (!existsSync(join(out, file))) throw new Error(`pack-all: pnpm -r pack wrote no ${file} for ${dir}`)
    const entry = packed.find((p) => p.name === pkg.name)
    manifest.packages[pkg.name] = { version: pkg.version, file, dir: relative(root, dir), files: entry?.files?.map((f) => f.path).sort() ?? [] }
  }
  log(`packed ${packages.length} workspace packages in ${Date.now() - started} ms`)
  if (deps) {
    const depsStarted = Date.now()
    const closure = dependencyClosure(packages, extras, root)
    // An installed folder is what its tarball held: copy it to `<stage>/<name>/package/` without
    // nested node_modules, then tar that. The copy matters: the pnpm store hard-links files with
    // equal contents (e.g. @standard-schema/spec's index.d.ts and index.d.cts); tar stores the
    // second as a link entry, which npm's extraction drops. A copy has no hard links, so plain
    // `tar -czf` (GNU and bsdtar alike; no --hard-dereference, no --transform) is enough.
    // (`npm pack <folder>` and node-tar both hang on pnpm's hard-linked ajv 8.20 folder here.)
    const stage = mkdtempSync(join(tmpdir(), 'echostream-deps-'))
    try {
      await Promise.all(
        [...closure].map(async ([name, { version, dir }]) => {
          const file = `deps/${tarballName(name, version)}`
          const parent = join(stage, name.replace(/\//g, '+'))
          const nested = join(dir, 'node_modules')
          await cp(dir, join(parent, 'package'), { recursive: true, dereference: true, filter: (src) => src !== nested && !src.startsWith(nested + sep) })
          await execFile('tar', ['-czf', join(out, file), '-C', parent, 'package'])
          manifest.deps[name] = { version, file }
        }),
      )
    } finally {
      rmSync(stage, { recursive: true, force: true })
    }
    log(`packed ${closure.size} third-party packages in ${Date.now() - depsStarted} ms`)
  }
  const sort = (o) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)))
  manifest.packages = sort(manifest.packages)
  manifest.deps = sort(manifest.deps)
  writeFileSync(join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`)
  return { out, manifest }
}

async function run(command, args, cwd) {
  const { stdout } = await execFile(command, args, { cwd, maxBuffer: 64 << 20, env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' } })
  return stdout
}

/** `pnpm -r pack --json` prints lifecycle-script output first, then one JSON array. */
function packJson(stdout) {
  const start = stdout.search(/^\[/m)
  if (start < 0) throw new Error(`pack-all: pnpm -r pack printed no JSON:\n${stdout.slice(-2000)}`)
  return JSON.parse(stdout.slice(start))
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
