/**
 * create-echostream as a library: `createApp` writes a new app from a preset, `createPlugin` a
 * third-party plugin package. The `create-echostream` command (cli.ts) is a thin layer over these.
 */
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import validatePackageName from 'validate-npm-package-name'
import { MissingTarballsError, registrySource, tarballSource, type DependencySource, type Need } from './dependencies.js'
import { isPresetName, PRESET_NAMES, PRESETS, type PresetName } from './presets.js'
import { appFiles } from './templates/app.js'
import { pluginFiles, pluginShortName } from './templates/plugin.js'
import { rangeOf, TOOL_VERSIONS } from './versions.js'

export { PRESETS, PRESET_NAMES, isPresetName, type PresetName, type PresetInfo } from './presets.js'
export { pluginShortName, apiKey } from './templates/plugin.js'
export { readTarballDir, readTarEntry, type Tarball } from './tarballs.js'
export { planFromTarballs, MissingTarballsError, type Need } from './dependencies.js'

/** Thrown for anything the user can fix (a taken folder, a bad name); the CLI prints its message and exits 1. */
export class CreateError extends Error {
  override name = 'CreateError'
}

export interface CreateOptions {
  /** Target folder (created when missing). */
  dir: string
  /** npm package name; default: the folder's name. */
  name?: string
  /** Write into a non-empty folder, replacing files of the same name (others are kept). */
  force?: boolean
  /** A folder of package tarballs to depend on through `file:` specs and `overrides` (no registry). */
  from?: string
}

export interface CreateAppOptions extends CreateOptions {
  /** Default: `default`. */
  preset?: PresetName
}

export interface Created {
  dir: string
  name: string
  /** Paths written, relative to `dir`. */
  files: string[]
}

/**
 * Why `name` cannot be the name of a new npm package (validate-npm-package-name's reasons: not a
 * core module such as `http`, no capitals, no spaces, …), or undefined when it can.
 */
export function invalidPackageName(name: string): string | undefined {
  const result = validatePackageName(name)
  if (result.validForNewPackages) return undefined
  return [...(result.errors ?? []), ...(result.warnings ?? [])].join('; ') || 'npm does not accept it'
}

/** The package name for a target folder: its name, or the one given. */
export function packageNameFor(dir: string, name?: string): string {
  const chosen = name ?? basename(resolve(dir))
  const problem = invalidPackageName(chosen)
  if (problem) throw new CreateError(`'${chosen}' cannot be a package name: ${problem}. Pick another name${name ? '' : ' (or pass --name)'}.`)
  return chosen
}

/** Files that do not make a folder "taken". */
const IGNORABLE = new Set(['.git', '.DS_Store', 'Thumbs.db', '.idea', '.vscode'])

function prepareDir(dir: string, force: boolean | undefined): void {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new CreateError(`${dir} exists and is a file: pick another folder.`)
    const taken = readdirSync(dir).filter((f) => !IGNORABLE.has(f))
    if (taken.length && !force) {
      throw new CreateError(`${dir} is not empty (${taken.slice(0, 5).join(', ')}${taken.length > 5 ? ', …' : ''}): pick an empty or new folder, or pass --force to write into it (files of the same name are replaced).`)
    }
  } else mkdirSync(dir, { recursive: true })
}

/** What a project of ours depends on: our packages at the exact versions released with this starter, and the tools. */
function needs(ours: string[], tools: Array<keyof typeof TOOL_VERSIONS>): Need[] {
  return [...ours.map((name) => ({ name, range: rangeOf(name), exact: true })), ...tools.map((name) => ({ name, range: TOOL_VERSIONS[name] }))]
}

function sourceFor(from: string | undefined, projectDir: string, need: Need[]): DependencySource {
  if (!from) return registrySource
  try {
    return tarballSource(from, projectDir, need)
  } catch (error) {
    if (error instanceof MissingTarballsError) throw new CreateError(error.message)
    throw new CreateError((error as Error).message)
  }
}

function write(dir: string, files: Record<string, string>): string[] {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), content)
  }
  return Object.keys(files)
}

/** Writes a new app on `preset` into `dir`. */
export function createApp(options: CreateAppOptions): Created {
  const dir = resolve(options.dir)
  const preset = options.preset ?? 'default'
  if (!isPresetName(preset)) throw new CreateError(`Unknown preset '${preset}': use one of ${PRESET_NAMES.join(', ')}.`)
  const name = packageNameFor(dir, options.name)
  const source = sourceFor(options.from, dir, needs(['@echostream/kernel', '@echostream/node', PRESETS[preset].package], ['tsx', 'typescript', '@types/node']))
  const files = appFiles({ name, preset, source })
  prepareDir(dir, options.force)
  return { dir, name, files: write(dir, files) }
}

/** Writes a third-party plugin package into `dir`. */
export function createPlugin(options: CreateOptions): Created {
  const dir = resolve(options.dir)
  const name = packageNameFor(dir, options.name)
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(pluginShortName(name))) throw new CreateError(`'${name}' gives the plugin name '${pluginShortName(name)}': use letters, digits and "-".`)
  const source = sourceFor(options.from, dir, needs(['@echostream/kernel', '@echostream/node', '@echostream/preset-minimal'], ['tsx', 'typescript', '@types/node']))
  const files = pluginFiles({ name, source })
  prepareDir(dir, options.force)
  return { dir, name, files: write(dir, files) }
}
