/**
 * Where a new project's dependencies come from: the npm registry (semver ranges), or a folder of
 * tarballs (`--from DIR`): then every package found there is written as a `file:` spec, and also
 * as an `overrides` entry so the dependencies of those packages resolve to the same tarballs and
 * `npm install --offline` needs no registry at all.
 */
import { pathToFileURL } from 'node:url'
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

/** `file:` spec of an absolute path, as npm writes it (forward slashes, also on Windows). */
function fileSpec(path: string): string {
  return `file:${pathToFileURL(path).pathname.replace(/^\/([A-Za-z]:)/, '$1')}`
}

export function tarballSource(dir: string): DependencySource {
  const tarballs: Map<string, Tarball> = readTarballDir(dir)
  return {
    spec: (name, range) => {
      const found = tarballs.get(name)
      return found ? fileSpec(found.file) : range
    },
    overrides: () => Object.fromEntries([...tarballs.values()].sort((a, b) => a.name.localeCompare(b.name)).map((t) => [t.name, fileSpec(t.file)])),
    missing: (names) => names.filter((n) => !tarballs.has(n)),
  }
}
