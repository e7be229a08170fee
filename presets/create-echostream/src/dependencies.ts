/**
 * Where a new project's dependencies come from: the npm registry (semver ranges), or a folder of
 * tarballs (`--from DIR`): then every package found there is written as a `file:` spec, and also
 * as an `overrides` entry so the dependencies of those packages resolve to the same tarballs and
 * `npm install --offline` needs no registry at all.
 */
import { relative, sep } from 'node:path'
import { readTarballDir, type Tarball } from './tarballs.js'

export interface DependencySource {
  /** The spec to write for `name`, given the registry range it would otherwise get. */
  spec(name: string, range: string): string
  /** `overrides` for package.json (empty for the registry). */
  overrides(): Record<string, string>
  /** Packages a project needs that the source cannot provide (only for a tarball folder). */
  missing(names: string[]): string[]
}

export const registrySource: DependencySource = {
  spec: (_name, range) => range,
  overrides: () => ({}),
  missing: () => [],
}

/**
 * `file:` spec of a tarball relative to the project (forward slashes, also on Windows): a packed
 * project (a plugin's tarball) must not carry this machine's absolute paths, and the project and
 * its tarball folder can move together.
 */
function fileSpec(path: string, projectDir: string): string {
  const rel = relative(projectDir, path).split(sep).join('/')
  return `file:${rel.startsWith('.') ? rel : `./${rel}`}`
}

export function tarballSource(dir: string, projectDir: string): DependencySource {
  const tarballs: Map<string, Tarball> = readTarballDir(dir)
  return {
    spec: (name, range) => {
      const found = tarballs.get(name)
      return found ? fileSpec(found.file, projectDir) : range
    },
    overrides: () => Object.fromEntries([...tarballs.values()].sort((a, b) => a.name.localeCompare(b.name)).map((t) => [t.name, fileSpec(t.file, projectDir)])),
    missing: (names) => names.filter((n) => !tarballs.has(n)),
  }
}
