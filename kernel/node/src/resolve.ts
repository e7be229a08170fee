/**
 * Resolves plugin, preset and handler specifiers from the folder of the config that names them,
 * so a package installed in the user's app loads exactly like a built-in one. A bare `import()`
 * inside the kernel would resolve from the kernel's own folder, which fails under pnpm.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, isAbsolute, join, resolve as resolvePath } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { exports as resolveExports, legacy as resolveLegacy } from 'resolve.exports'
import { EchoError, ErrorCodes } from '@echostream/kernel'
import { orList, suggest } from './suggest.js'

/** Our published plugins and presets: suggested for a misspelled name even when not installed. */
export const KNOWN_PACKAGES = [
  ...['transport-ws', 'transport-tcp', 'codec-msgpack', 'rpc', 'events', 'streams', 'clock-sync', 'discovery-mdns', 'reconnect', 'auth', 'cluster', 'observability', 'devtools'].map((n) => `@echostream/plugin-${n}`),
  ...['default', 'minimal', 'lan', 'realtime', 'cluster', 'browser'].map((n) => `@echostream/preset-${n}`),
]

/** Package names installed where `fromDir` resolves from (every node_modules folder upward; scoped ones included). */
export function installedPackages(fromDir: string, limit = 5000): string[] {
  const names: string[] = []
  const list = (dir: string) => {
    try {
      return readdirSync(dir, { withFileTypes: true }).filter((e) => (e.isDirectory() || e.isSymbolicLink()) && !e.name.startsWith('.')).map((e) => e.name)
    } catch {
      return []
    }
  }
  for (let dir = fromDir; names.length < limit; ) {
    const modules = join(dir, 'node_modules')
    for (const entry of list(modules)) {
      if (entry.startsWith('@')) for (const inner of list(join(modules, entry))) names.push(`${entry}/${inner}`)
      else names.push(entry)
    }
    const parent = dirname(dir)
    if (parent === dir) break
    dir = parent
  }
  return names.slice(0, limit)
}

/** Shortest form of a package name, for comparing `rpc` with `@echostream/plugin-rpc`. */
const shortName = (name: string) => name.replace(/^@echostream\/(plugin-|preset-)?/, '').replace(/^echostream-plugin-/, '')

/** Installed or known package names close to a package specifier that did not resolve. */
export function similarPackages(name: string, fromDir: string): string[] {
  const installed = installedPackages(fromDir)
  const candidates = [...new Set([...installed, ...KNOWN_PACKAGES])]
  const byName = suggest(name, candidates)
  const byShort = name.startsWith('@') ? [] : suggest(shortName(name), candidates.filter((c) => c.startsWith('@echostream/') || c.includes('echostream-plugin')), { key: shortName })
  return [...new Set([...byName, ...byShort])].slice(0, 3)
}

/**
 * Extra export conditions, as `node --conditions` takes them: from `ECHOSTREAM_CONDITIONS`
 * (comma-separated; the test setup sets `development` to load sources) and from `--conditions`/`-C`.
 */
function activeConditions(): string[] {
  const list = (process.env.ECHOSTREAM_CONDITIONS ?? '').split(',').map((c) => c.trim()).filter(Boolean)
  const argv = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)]
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg.startsWith('--conditions=')) list.push(arg.slice('--conditions='.length))
    else if ((arg === '--conditions' || arg === '-C') && argv[i + 1]) list.push(argv[++i]!)
  }
  return list
}

function isPathSpecifier(spec: string): boolean {
  return spec.startsWith('./') || spec.startsWith('../') || spec === '.' || spec === '..' || isAbsolute(spec) || spec.startsWith('file:')
}

function splitPackageSpecifier(spec: string): { name: string; subpath: string } {
  const parts = spec.split('/')
  const count = spec.startsWith('@') ? 2 : 1
  const name = parts.slice(0, count).join('/')
  const rest = parts.slice(count).join('/')
  return { name, subpath: rest ? `./${rest}` : '.' }
}

function findPackageDir(name: string, fromDir: string): string | undefined {
  let dir = fromDir
  for (;;) {
    const candidate = join(dir, 'node_modules', name)
    if (existsSync(join(candidate, 'package.json'))) return candidate
    const parent = dirname(dir)
    if (parent === dir) return undefined
    dir = parent
  }
}

function resolveFileOrDir(path: string): string | undefined {
  if (!existsSync(path)) return undefined
  if (!statSync(path).isDirectory()) return path
  const pkgFile = join(path, 'package.json')
  if (existsSync(pkgFile)) return entryOfPackage(path, JSON.parse(readFileSync(pkgFile, 'utf8')), '.')
  for (const index of ['index.js', 'index.mjs', 'index.ts']) {
    if (existsSync(join(path, index))) return join(path, index)
  }
  return undefined
}

function entryOfPackage(dir: string, pkg: Record<string, unknown>, subpath: string): string | undefined {
  let entries: string[] | void
  try {
    entries = pkg.exports ? resolveExports(pkg, subpath, { conditions: activeConditions() }) : undefined
  } catch {
    return undefined
  }
  if (!entries && subpath === '.') {
    const legacy = resolveLegacy(pkg, { fields: ['module', 'main'] })
    entries = [typeof legacy === 'string' ? legacy : 'index.js']
  } else if (!entries) {
    entries = [subpath]
  }
  for (const entry of entries) {
    const file = resolveFileOrDir(join(dir, entry))
    if (file) return file
  }
  return undefined
}

/**
 * Returns the absolute file a specifier names, resolved from `fromDir`, or throws `E_PLUGIN`
 * (with `what` naming the thing being resolved, e.g. "plugin" or "handler module").
 */
export function resolveSpecifier(spec: string, fromDir: string, what = 'plugin'): string {
  let file: string | undefined
  if (isPathSpecifier(spec)) {
    const path = spec.startsWith('file:') ? fileURLToPath(spec) : resolvePath(fromDir, spec)
    file = resolveFileOrDir(path)
  } else {
    const { name, subpath } = splitPackageSpecifier(spec)
    const dir = findPackageDir(name, fromDir)
    if (dir) file = entryOfPackage(dir, JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')), subpath)
  }
  if (!file) {
    const name = isPathSpecifier(spec) ? undefined : splitPackageSpecifier(spec).name
    const similar = name ? similarPackages(name, fromDir) : []
    let fix: string
    if (!name) fix = 'check the path; relative paths are resolved from the folder of the config that names them'
    else if (similar.length) {
      const installed = new Set(installedPackages(fromDir))
      const missing = similar.filter((s) => !installed.has(s))
      fix = `did you mean ${orList(similar)}? Fix the name in your config${missing.length ? ` (not installed yet: npm install ${missing[0]})` : ''}`
    } else fix = `install it in your app (npm install ${name}) or fix the name`
    throw new EchoError(ErrorCodes.E_PLUGIN, `Cannot resolve ${what} '${spec}' from ${fromDir}: ${fix}.`, { data: { specifier: spec, suggestions: similar } })
  }
  return file
}

const TS_EXTENSIONS = /\.(c|m)?tsx?$/
let tsLoaderRegistered: Promise<void> | undefined

/** Registers tsx's loader once so `import()` can load `.ts` config, plugin and handler files. */
function ensureTypeScriptLoader(): Promise<void> {
  // Inside a vitest worker (vite's module runner) TypeScript is transformed already. Not the
  // VITEST variable: child processes a test spawns inherit it and still need the loader.
  if ((globalThis as { __vitest_worker__?: unknown }).__vitest_worker__ !== undefined) return Promise.resolve()
  tsLoaderRegistered ??= import('tsx/esm/api').then(({ register }) => {
    register()
  })
  return tsLoaderRegistered
}

/** Imports an absolute file as ESM (TypeScript included). */
export async function importFile(file: string): Promise<Record<string, unknown>> {
  if (TS_EXTENSIONS.test(file)) await ensureTypeScriptLoader()
  return (await import(pathToFileURL(file).href)) as Record<string, unknown>
}
