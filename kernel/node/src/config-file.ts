/**
 * Config files, found by cosmiconfig under the name `echostream`, and the resolver that turns the
 * strings in a config (presets, plugins, handler modules) into modules, from the folder of the
 * config that names them.
 */
import { dirname, resolve as resolvePath } from 'node:path'
import { cosmiconfig } from 'cosmiconfig'
import { EchoError, ErrorCodes, isPluginDefinition, messageOf, type ConfigResolver, type EchoConfig, type PluginDefinition } from '@echostream/kernel'
import { importFile, resolveSpecifier } from './resolve.js'

export const CONFIG_SEARCH_PLACES = [
  'package.json',
  '.echostreamrc',
  '.echostreamrc.json',
  '.echostreamrc.yaml',
  '.echostreamrc.yml',
  '.echostreamrc.js',
  '.echostreamrc.mjs',
  '.echostreamrc.ts',
  'echostream.config.ts',
  'echostream.config.mts',
  'echostream.config.mjs',
  'echostream.config.js',
  'echostream.config.cjs',
  'echostream.config.json',
  'echostream.config.yaml',
  'echostream.config.yml',
]

// JS and TS configs go through our importer, which loads TypeScript (tsx) only for a .ts file.
const importLoader = async (filepath: string) => {
  const ns = await importFile(filepath)
  return ns.default ?? ns
}

const explorer = cosmiconfig('echostream', {
  searchPlaces: CONFIG_SEARCH_PLACES,
  loaders: { '.ts': importLoader, '.mts': importLoader, '.mjs': importLoader, '.js': importLoader, '.cjs': importLoader },
  cache: false,
})

export interface LoadedConfig {
  config: EchoConfig
  /** Absolute path of the file it came from. */
  filepath: string
}

/** Loads `file`, or searches `cwd` for a config; throws `E_CONFIG` when none is found or it cannot be read. */
export async function loadConfigFile(file?: string, cwd = process.cwd()): Promise<LoadedConfig> {
  let result
  try {
    result = file ? await explorer.load(resolvePath(cwd, file)) : await explorer.search(cwd)
  } catch (error) {
    throw new EchoError(ErrorCodes.E_CONFIG, `Cannot read config ${file ?? `in ${cwd}`}: ${messageOf(error)}. Fix the file's syntax.`, { cause: error })
  }
  if (!result || result.isEmpty || typeof result.config !== 'object' || result.config === null) {
    throw new EchoError(
      ErrorCodes.E_CONFIG,
      file ? `Config file ${file} is empty: export a config object (defineConfig({...})).` : `No echostream config found in ${cwd}: create echostream.config.ts (or .mjs/.js/.json/.yaml, .echostreamrc, or an "echostream" key in package.json), or pass --config FILE.`,
    )
  }
  return { config: result.config as EchoConfig, filepath: result.filepath }
}

/** The config file cosmiconfig finds in `cwd` (or its parents), without loading it; undefined when there is none. */
export async function findConfigFile(cwd = process.cwd()): Promise<string | undefined> {
  try {
    const result = await explorer.search(cwd)
    return result && !result.isEmpty ? result.filepath : undefined
  } catch (error) {
    // Found but unreadable: the caller loads it and reports why.
    const path = (error as { filepath?: string }).filepath
    return typeof path === 'string' ? path : undefined
  }
}

/** Imports the plugin a specifier names, resolved from `baseDir`; throws `E_PLUGIN` when it cannot. */
export async function loadPlugin(spec: string, baseDir: string): Promise<PluginDefinition> {
  const file = resolveSpecifier(spec, baseDir, 'plugin')
  let ns: Record<string, unknown>
  try {
    ns = await importFile(file)
  } catch (error) {
    throw new EchoError(ErrorCodes.E_PLUGIN, `Plugin '${spec}' failed to import (${file}): ${messageOf(error)}`, { cause: error })
  }
  const def = [ns.default, ns.plugin].find(isPluginDefinition)
  if (!def) throw new EchoError(ErrorCodes.E_PLUGIN, `Module '${spec}' exports no plugin: it must \`export default definePlugin({ name, version, kernel, setup })\`.`)
  return def
}

/** Strings in a config resolve from the folder of the config (or preset) that names them. */
export const nodeResolver: ConfigResolver = {
  async preset(spec, baseDir) {
    const file = resolveSpecifier(spec, baseDir, 'preset')
    const ns = await importFile(file)
    return { fragment: ns.default ?? ns.preset, baseDir: dirname(file), id: file }
  },
  plugin: loadPlugin,
  handlers: (spec, baseDir) => importFile(resolveSpecifier(spec, baseDir, 'handler module')),
  resolvePath: (baseDir, path) => resolvePath(baseDir, path),
}
