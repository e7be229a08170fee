/**
 * Config: found by cosmiconfig under the name `echostream`, extended from a preset (the user's
 * layer wins, as unjs/c12 layers merge), assembled into plugin definitions with options and handler
 * modules. Every problem found is reported at once, before anything binds a port.
 */
import { dirname, resolve as resolvePath } from 'node:path'
import { cosmiconfig } from 'cosmiconfig'
import { EchoError, ErrorCodes } from './errors.js'
import { handlersOf, isHandlerDefinition, type HandlerDefinition } from './handlers.js'
import { checkOptions } from './loader/options.js'
import { importFile, resolveSpecifier } from './loader/resolve.js'
import { isPluginDefinition, type PluginDefinition, type Role } from './plugin.js'
import { substituteEnv } from './env.js'

/** A plugin in a config: a specifier or a definition, optionally with options (`false` disables it). */
export type PluginEntry = string | PluginDefinition | readonly [string | PluginDefinition, (Record<string, unknown> | false)?]

export interface EchoConfig {
  /** `server` or `client`; `createServer`/`createClient` set it when absent. */
  role?: Role
  /** A preset package (or relative path, or fragment object) this config extends. */
  preset?: string | EchoConfig
  /** Plugins in addition to (or replacing, by name) the preset's. */
  plugins?: PluginEntry[]
  /** Options by plugin name (`'transport-ws': { port: 5000 }`); `false` removes a preset's plugin. */
  options?: Record<string, Record<string, unknown> | false>
  /** Handler modules (paths or package names) exporting `defineRpc`/`defineEvent` values, or the values themselves. */
  handlers?: Array<string | HandlerDefinition | Record<string, unknown>>
  /** Client: the server URL. */
  url?: string
  /** Milliseconds a peer has to complete the handshake (default 10 000). */
  handshakeTimeoutMs?: number
  /** Bytes that may wait to go to one session before the slow-consumer policy applies (default 8 MiB; 0: no budget). */
  outboundBudget?: number
  /** Folder that relative specifiers resolve from (default: the config file's folder, or the current directory). */
  root?: string
}

/** Typed identity for `echostream.config.ts`. */
export function defineConfig<C extends EchoConfig>(config: C): C {
  return config
}

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

// JS and TS configs go through the kernel's importer, which loads TypeScript without a build step.
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
    throw new EchoError(ErrorCodes.E_CONFIG, `Cannot read config ${file ?? `in ${cwd}`}: ${(error as Error)?.message}. Fix the file's syntax.`, { cause: error })
  }
  if (!result || result.isEmpty || typeof result.config !== 'object' || result.config === null) {
    throw new EchoError(
      ErrorCodes.E_CONFIG,
      file ? `Config file ${file} is empty: export a config object (defineConfig({...})).` : `No echostream config found in ${cwd}: create echostream.config.ts (or .mjs/.js/.json/.yaml, .echostreamrc, or an "echostream" key in package.json), or pass --config FILE.`,
    )
  }
  return { config: result.config as EchoConfig, filepath: result.filepath }
}

// ---------------------------------------------------------------- assembly

export interface AssembledPlugin {
  definition: PluginDefinition
  options: Record<string, unknown> | undefined
  /** Where it came from: the specifier, or 'inline'. */
  source: string
}

export interface Assembly {
  role: Role
  url: string | undefined
  handshakeTimeoutMs: number | undefined
  outboundBudget: number | undefined
  baseDir: string
  plugins: AssembledPlugin[]
  handlers: Array<{ source: string; definitions: HandlerDefinition[] }>
}

interface Layer {
  config: EchoConfig
  baseDir: string
  label: string
}

const CONFIG_KEYS = new Set(['role', 'preset', 'plugins', 'options', 'handlers', 'url', 'handshakeTimeoutMs', 'outboundBudget', 'root', '$schema'])

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value)
}

function deepMerge(base: Record<string, unknown> | undefined, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(over)) {
    out[key] = isPlainObject(value) && isPlainObject(out[key]) ? deepMerge(out[key] as Record<string, unknown>, value) : value
  }
  return out
}

function shapeProblems(config: EchoConfig, label: string): string[] {
  const problems: string[] = []
  for (const key of Object.keys(config)) if (!CONFIG_KEYS.has(key)) problems.push(`${label}: unknown key '${key}' (known: ${[...CONFIG_KEYS].filter((k) => k !== '$schema').join(', ')})`)
  if (config.role !== undefined && config.role !== 'server' && config.role !== 'client') problems.push(`${label}: 'role' must be "server" or "client", got ${JSON.stringify(config.role)}`)
  if (config.plugins !== undefined && !Array.isArray(config.plugins)) problems.push(`${label}: 'plugins' must be an array`)
  if (config.handlers !== undefined && !Array.isArray(config.handlers)) problems.push(`${label}: 'handlers' must be an array`)
  if (config.options !== undefined && !isPlainObject(config.options)) problems.push(`${label}: 'options' must be an object keyed by plugin name`)
  if (config.url !== undefined && typeof config.url !== 'string') problems.push(`${label}: 'url' must be a string like "ws://127.0.0.1:5000"`)
  if (config.handshakeTimeoutMs !== undefined && !(typeof config.handshakeTimeoutMs === 'number' && config.handshakeTimeoutMs > 0)) problems.push(`${label}: 'handshakeTimeoutMs' must be a positive number`)
  if (config.outboundBudget !== undefined && !(typeof config.outboundBudget === 'number' && config.outboundBudget >= 0)) problems.push(`${label}: 'outboundBudget' must be a number of bytes (0 disables it)`)
  return problems
}

async function collectLayers(config: EchoConfig, baseDir: string, label: string, seen: Set<string>): Promise<Layer[]> {
  const own: Layer = { config, baseDir, label }
  if (!config.preset) return [own]
  if (typeof config.preset === 'object') return [...(await collectLayers(config.preset, baseDir, `${label} preset`, seen)), own]
  const file = resolveSpecifier(config.preset, baseDir, 'preset')
  if (seen.has(file)) throw new EchoError(ErrorCodes.E_CONFIG, `Preset '${config.preset}' extends itself in a loop: remove the 'preset' that leads back to it.`)
  seen.add(file)
  const ns = await importFile(file)
  const fragment = (ns.default ?? ns.preset) as EchoConfig | undefined
  if (!isPlainObject(fragment)) {
    throw new EchoError(ErrorCodes.E_CONFIG, `Preset '${config.preset}' exports no config fragment: it must \`export default { plugins: [...], options: {...} }\`.`)
  }
  return [...(await collectLayers(fragment, dirname(file), `preset '${config.preset}'`, seen)), own]
}

async function loadPluginModule(spec: string, baseDir: string): Promise<PluginDefinition> {
  const file = resolveSpecifier(spec, baseDir, 'plugin')
  let ns: Record<string, unknown>
  try {
    ns = await importFile(file)
  } catch (error) {
    throw new EchoError(ErrorCodes.E_PLUGIN, `Plugin '${spec}' failed to import (${file}): ${(error as Error)?.message}`, { cause: error })
  }
  const def = [ns.default, ns.plugin].find(isPluginDefinition)
  if (!def) throw new EchoError(ErrorCodes.E_PLUGIN, `Module '${spec}' exports no plugin: it must \`export default definePlugin({ name, version, kernel, setup })\`.`)
  return def
}

/** Resolves plugin and handler specifiers; throws `E_PLUGIN` for the first plugin module that cannot load. */
export async function loadPlugin(spec: string | PluginDefinition, baseDir: string): Promise<PluginDefinition> {
  return typeof spec === 'string' ? loadPluginModule(spec, baseDir) : spec
}

/**
 * Turns a config (and its presets) into plugin definitions with merged options and handler
 * definitions. Throws one `E_CONFIG` listing every problem it found.
 */
export async function assemble(input: EchoConfig, role: Role, baseDir: string, label = 'config'): Promise<Assembly> {
  const config = substituteEnv(input, label)
  const problems = shapeProblems(config, label)
  if (config.role && config.role !== role) problems.push(`${label}: role is '${config.role}' but it is used to create a ${role}; remove 'role' or use the matching create function`)
  if (problems.length) throw configError(problems)
  const layers = await collectLayers(config, config.root ? resolvePath(baseDir, config.root) : baseDir, label, new Set())
  for (const layer of layers.slice(0, -1)) problems.push(...shapeProblems(layer.config, layer.label))

  const pluginErrors: EchoError[] = []
  const entries = new Map<string, AssembledPlugin & { disabled: boolean }>()
  for (const layer of layers) {
    for (const entry of layer.config.plugins ?? []) {
      const [spec, opts] = Array.isArray(entry) ? (entry as readonly [string | PluginDefinition, (Record<string, unknown> | false)?]) : [entry as string | PluginDefinition, undefined]
      let definition: PluginDefinition
      try {
        definition = await loadPlugin(spec, layer.baseDir)
      } catch (error) {
        if (EchoError.is(error) && error.code === ErrorCodes.E_PLUGIN) pluginErrors.push(error)
        problems.push(`${layer.label}: ${(error as Error).message}`)
        continue
      }
      const previous = entries.get(definition.name)
      entries.set(definition.name, {
        definition,
        source: typeof spec === 'string' ? spec : 'inline',
        disabled: opts === false,
        options: opts === false ? previous?.options : isPlainObject(opts) ? deepMerge(previous?.options, opts) : previous?.options,
      })
    }
    for (const [name, opts] of Object.entries(layer.config.options ?? {})) {
      const entry = entries.get(name)
      if (!entry) {
        problems.push(`${layer.label}: options for '${name}', but no plugin named '${name}' is loaded (loaded: ${[...entries.keys()].join(', ') || 'none'}); add the plugin or fix the name`)
      } else if (opts === false) entry.disabled = true
      else if (isPlainObject(opts)) entry.options = deepMerge(entry.options, opts)
      else problems.push(`${layer.label}: options['${name}'] must be an object or false`)
    }
  }
  const plugins = [...entries.values()].filter((e) => !e.disabled).map(({ disabled: _, ...rest }) => rest)
  for (const p of plugins) {
    if (p.definition.schema) problems.push(...checkOptions(p.definition.schema, p.options ?? {}, `options['${p.definition.name}']`).map((m) => `plugin '${p.definition.name}': ${m}`))
  }

  const handlers: Assembly['handlers'] = []
  for (const layer of layers) {
    for (const item of layer.config.handlers ?? []) {
      if (typeof item !== 'string') {
        handlers.push({ source: `${layer.label} (inline)`, definitions: isHandlerDefinition(item) ? [item] : handlersOf(item as Record<string, unknown>) })
        continue
      }
      try {
        const definitions = handlersOf(await importFile(resolveSpecifier(item, layer.baseDir, 'handler module')))
        if (!definitions.length) problems.push(`${layer.label}: handler module '${item}' exports no defineRpc/defineEvent definitions`)
        handlers.push({ source: `handler module '${item}'`, definitions })
      } catch (error) {
        problems.push(`${layer.label}: handler module '${item}': ${(error as Error).message}`)
      }
    }
  }
  // A lone unloadable plugin keeps its own E_PLUGIN error; anything else is reported together.
  if (problems.length === 1 && pluginErrors.length === 1) throw pluginErrors[0]
  if (problems.length) throw configError(problems)
  const user = layers[layers.length - 1]!.config
  const fromLayers = <K extends keyof EchoConfig>(key: K) => layers.map((l) => l.config[key]).filter((v) => v !== undefined).pop()
  return {
    role,
    url: user.url ?? (fromLayers('url') as string | undefined),
    handshakeTimeoutMs: fromLayers('handshakeTimeoutMs') as number | undefined,
    outboundBudget: fromLayers('outboundBudget') as number | undefined,
    baseDir: layers[layers.length - 1]!.baseDir,
    plugins,
    handlers,
  }
}

function configError(problems: string[]): EchoError {
  const list = problems.map((p) => `  - ${p}`).join('\n')
  return new EchoError(ErrorCodes.E_CONFIG, problems.length === 1 ? problems[0]! : `The config has ${problems.length} problems:\n${list}`, { data: { problems } })
}
