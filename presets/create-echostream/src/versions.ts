/**
 * Which versions a new project depends on. Ours come from this package's own devDependencies:
 * `pnpm pack`/`pnpm publish` rewrite their `workspace:^` ranges to `^<version>` of the packages
 * released with it; run from the workspace, the linked packages' versions are read instead.
 * Third-party tools are pinned here to versions verified on Node 20.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const TOOL_VERSIONS = {
  tsx: '^4.20.0',
  typescript: '~5.9.3',
  '@types/node': '^20.19.0',
} as const

/** This package's folder (one level above `src/` and `dist/`). */
export const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..')

interface Manifest {
  name: string
  version: string
  devDependencies?: Record<string, string>
}

function readManifest(file: string): Manifest {
  return JSON.parse(readFileSync(file, 'utf8')) as Manifest
}

export const OWN = readManifest(join(PACKAGE_DIR, 'package.json'))

/** The semver range a new project gets for one of our packages, e.g. `^1.0.0`. */
export function rangeOf(name: string): string {
  const declared = OWN.devDependencies?.[name]
  if (!declared) throw new Error(`create-echostream ${OWN.version} does not know ${name}; update create-echostream`)
  if (!declared.startsWith('workspace:')) return declared
  const linked = join(PACKAGE_DIR, 'node_modules', name, 'package.json')
  if (!existsSync(linked)) throw new Error(`create-echostream: ${name} is ${declared} but not linked in ${PACKAGE_DIR}; run pnpm install`)
  return `^${readManifest(linked).version}`
}
