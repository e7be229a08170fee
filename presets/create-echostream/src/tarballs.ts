/**
 * `--from DIR`: a folder of package tarballs (`pnpm pack`/`npm pack` output, or scripts/pack-all.mjs
 * with its deps/ subfolder) that a new project installs from instead of a registry. Each tarball
 * is identified by the package.json inside it, read with the system `tar` (`tar -xzOf`, the same
 * flags on GNU tar, bsdtar on macOS and Windows' tar.exe): no tar code of ours.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'

export interface Tarball {
  name: string
  version: string
  /** Absolute path of the .tgz. */
  file: string
  dependencies: Record<string, string>
  optionalDependencies: Record<string, string>
  peerDependencies: Record<string, string>
  /** Peer dependencies marked `optional` in `peerDependenciesMeta`. */
  optionalPeers: string[]
}

/** The text of `wanted` inside a gzipped tarball, or undefined when absent or unreadable. */
export function readTarEntry(file: string, wanted: string): string | undefined {
  try {
    return execFileSync('tar', ['-xzOf', file, wanted], { encoding: 'utf8', maxBuffer: 16 << 20, stdio: ['ignore', 'pipe', 'ignore'] })
  } catch {
    return undefined
  }
}

function tgzFiles(dir: string, depth: number): string[] {
  const out: string[] = []
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry)
    if (entry.endsWith('.tgz') && statSync(path).isFile()) out.push(path)
    else if (depth > 0 && statSync(path).isDirectory() && entry !== 'node_modules') out.push(...tgzFiles(path, depth - 1))
  }
  return out.sort()
}

const record = (value: unknown): Record<string, string> => (value && typeof value === 'object' ? (value as Record<string, string>) : {})

/** Every package tarball in `dir` and its direct subfolders; several versions of one package may be there. */
export function readTarballDir(dir: string): Tarball[] {
  const root = resolve(dir)
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new Error(`--from ${dir}: no such folder`)
  const found: Tarball[] = []
  for (const file of tgzFiles(root, 1)) {
    const text = readTarEntry(file, 'package/package.json')
    if (!text) continue
    let pkg: Record<string, unknown>
    try {
      pkg = JSON.parse(text) as Record<string, unknown>
    } catch {
      continue
    }
    if (typeof pkg.name !== 'string' || typeof pkg.version !== 'string') continue
    const meta = record(pkg.peerDependenciesMeta) as unknown as Record<string, { optional?: boolean }>
    found.push({
      name: pkg.name,
      version: pkg.version,
      file,
      dependencies: record(pkg.dependencies),
      optionalDependencies: record(pkg.optionalDependencies),
      peerDependencies: record(pkg.peerDependencies),
      optionalPeers: Object.keys(meta).filter((k) => meta[k]?.optional === true),
    })
  }
  if (found.length === 0) throw new Error(`--from ${dir}: no package tarballs (*.tgz) found`)
  return found
}
