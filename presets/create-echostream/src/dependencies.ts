/**
 * Where a new project's dependencies come from: the npm registry (semver ranges), or a folder of
 * tarballs (`--from DIR`). From a folder, the project gets exactly what it needs and nothing else:
 * our packages at the exact versions this create-echostream was released with, the tools at
 * versions in their ranges, and the closure of their dependencies (each at a version its
 * dependents accept). Those are written as `file:` specs and `overrides`, so `npm install
 * --offline` needs no registry. Anything missing fails the whole run with the list; nothing falls
 * back to a registry range, and other tarballs in the folder are not used.
 */
import { relative, sep } from 'node:path'
import semver from 'semver'
import { readTarballDir, type Tarball } from './tarballs.js'

export interface DependencySource {
  /** The spec to write for `name`, given the registry range it would otherwise get. */
  spec(name: string, range: string): string
  /** `overrides` for package.json (empty for the registry). */
  overrides(): Record<string, string>
}

export const registrySource: DependencySource = {
  spec: (_name, range) => range,
  overrides: () => ({}),
}

/** A package a new project depends on: `exact` for ours (the version released with this starter). */
export interface Need {
  name: string
  range: string
  exact?: boolean
}

/** Thrown when the folder lacks something the project needs; `missing` lists each as `name@version (why)`. */
export class MissingTarballsError extends Error {
  constructor(
    readonly dir: string,
    readonly missing: string[],
  ) {
    super(
      `--from ${dir} does not have everything this project needs, so nothing was written:\n${missing.map((m) => `  - ${m}`).join('\n')}\n` +
        `Pack them into that folder (in the echostream workspace: node scripts/pack-all.mjs --out ${dir}), or leave out --from to install from the registry.`,
    )
  }
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

/** The tarballs `needs` resolve to, dependencies included; throws MissingTarballsError listing what the folder lacks. */
export function planFromTarballs(dir: string, needs: Need[]): Map<string, Tarball> {
  const byName = new Map<string, Tarball[]>()
  for (const t of readTarballDir(dir)) byName.set(t.name, [...(byName.get(t.name) ?? []), t])
  const chosen = new Map<string, Tarball>()
  const missing: string[] = []
  const queue: Array<{ name: string; range: string; exact?: boolean; optional?: boolean; by: string }> = needs.map((n) => ({ ...n, by: 'the new project' }))
  const have = (name: string) => (byName.get(name) ?? []).map((t) => t.version).join(', ')
  while (queue.length) {
    const { name, range, exact, optional, by } = queue.shift()!
    const wanted = exact ? (semver.minVersion(range)?.version ?? range) : range
    const accepts = (version: string) => (exact ? version === wanted : !semver.validRange(range) || semver.satisfies(version, range, { includePrerelease: true }))
    const already = chosen.get(name)
    if (already) {
      if (!accepts(already.version)) missing.push(`${name}@${wanted} for ${by} (a project can hold one version; ${already.version} is taken for another dependent)`)
      continue
    }
    const candidates = (byName.get(name) ?? []).filter((t) => accepts(t.version)).sort((a, b) => semver.rcompare(a.version, b.version))
    const pick = candidates[0]
    if (!pick) {
      if (!optional) missing.push(`${name}@${wanted} for ${by}${have(name) ? ` (the folder has ${have(name)})` : ''}`)
      continue
    }
    chosen.set(name, pick)
    const label = `${pick.name}@${pick.version}`
    for (const [dep, r] of Object.entries(pick.dependencies)) queue.push({ name: dep, range: r, by: label })
    for (const [dep, r] of Object.entries(pick.optionalDependencies)) queue.push({ name: dep, range: r, optional: true, by: label })
    for (const [dep, r] of Object.entries(pick.peerDependencies)) queue.push({ name: dep, range: r, optional: pick.optionalPeers.includes(dep), by: label })
  }
  if (missing.length) throw new MissingTarballsError(dir, [...new Set(missing)])
  return chosen
}

export function tarballSource(dir: string, projectDir: string, needs: Need[]): DependencySource {
  const plan = planFromTarballs(dir, needs)
  return {
    spec: (name) => {
      const found = plan.get(name)
      if (!found) throw new Error(`create-echostream: ${name} was not planned from ${dir}; add it to the project's needs`)
      return fileSpec(found.file, projectDir)
    },
    overrides: () => Object.fromEntries([...plan.values()].sort((a, b) => a.name.localeCompare(b.name)).map((t) => [t.name, fileSpec(t.file, projectDir)])),
  }
}
