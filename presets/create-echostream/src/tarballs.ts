/**
 * `--from DIR`: a folder of package tarballs (`pnpm pack`/`npm pack` output, or scripts/pack-all.mjs
 * with its deps/ subfolder) that a new project installs from instead of a registry. Each tarball
 * is identified by the package.json inside it, read here with zlib and the ustar layout, so no
 * `tar` binary is needed.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { gunzipSync } from 'node:zlib'

export interface Tarball {
  name: string
  version: string
  /** Absolute path of the .tgz. */
  file: string
}

/** The text of `wanted` inside a gzipped tarball, or undefined when absent. */
export function readTarEntry(file: string, wanted: string): string | undefined {
  const data = gunzipSync(readFileSync(file))
  for (let offset = 0; offset + 512 <= data.length; ) {
    const header = data.subarray(offset, offset + 512)
    if (header.every((b) => b === 0)) return undefined
    const field = (start: number, length: number) => header.subarray(start, start + length).toString('utf8').replace(/\0.*$/s, '')
    const size = parseInt(field(124, 12).trim() || '0', 8)
    const prefix = field(345, 155)
    const name = (prefix ? `${prefix}/` : '') + field(0, 100)
    if (name === wanted) return data.subarray(offset + 512, offset + 512 + size).toString('utf8')
    offset += 512 + Math.ceil(size / 512) * 512
  }
  return undefined
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

/** Every package tarball in `dir` and its direct subfolders, by package name. */
export function readTarballDir(dir: string): Map<string, Tarball> {
  const root = resolve(dir)
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new Error(`--from ${dir}: no such folder`)
  const found = new Map<string, Tarball>()
  for (const file of tgzFiles(root, 1)) {
    const text = readTarEntry(file, 'package/package.json')
    if (!text) continue
    const { name, version } = JSON.parse(text) as { name?: string; version?: string }
    if (!name || !version) continue
    const previous = found.get(name)
    if (previous && previous.version !== version) {
      throw new Error(`--from ${dir}: two versions of ${name} (${previous.version} and ${version}); keep one, since a project can pin only one`)
    }
    found.set(name, { name, version, file })
  }
  if (found.size === 0) throw new Error(`--from ${dir}: no package tarballs (*.tgz) found`)
  return found
}
