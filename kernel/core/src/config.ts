/**
 * Config: a preset extended by the user's layer (the user's layer wins, as unjs/c12 layers merge),
 * assembled into plugin definitions with options and handler definitions. Every problem found is
 * reported at once, before anything binds a port. Strings that name presets, plugins and handler
 * modules need a resolver: `@echostream/node` supplies one (files, packages, cosmiconfig); the
 * core alone takes objects.
 */
import { EchoError, ErrorCodes, messageOf } from './errors.js'
import { handlersOf, isHandlerDefinition, type HandlerDefinition } from './handlers.js'
import { isPluginDefinition, type PluginDefinition, type Role } from './plugin.js'
import { basicValidator, type OptionsValidator } from './options.js'

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

// ---------------------------------------------------------------- assembly

export interface AssembledPlugin {
  definition: PluginDefinition
  options: Record<string, unknown> | undefined
  /** Where it came from: the specifier, or 'inline'. */
  source: string
}

/** How string specifiers in a config become modules (see @echostream/node). */
export interface ConfigResolver {
  /** A preset's config fragment and the folder its own specifiers resolve from; `id` detects loops. */
  preset(spec: string, baseDir: string): Promise<{ fragment: unknown; baseDir: string; id: string }>
  /** A plugin module's definition (throws E_PLUGIN when it cannot be loaded). */
  plugin(spec: string, baseDir: string): Promise<PluginDefinition>
  /** A handler module's exports. */
  handlers(spec: string, baseDir: string): Promise<Record<string, unknown>>
  /** `root` relative to `baseDir`. */
  resolvePath(baseDir: string, path: string): string
}

/** The core's resolver: objects only. */
const objectsOnly: ConfigResolver = {
  preset: (spec) => Promise.reject(stringSpec('preset', spec)),
  plugin: (spec) => Promise.reject(stringSpec('plugin', spec)),
  handlers: (spec) => Promise.reject(stringSpec('handler module', spec)),
  resolvePath: (_base, path) => path,
}

function stringSpec(what: string, spec: string): EchoError {
  return new EchoError(ErrorCodes.E_PLUGIN, `Cannot load ${what} '${spec}' by name: pass the ${what} object itself (import it), or create the server/client with @echostream/node, which resolves names and files.`, { data: { specifier: spec } })
}

export interface AssembleOptions {
  resolver?: ConfigResolver
  validator?: OptionsValidator
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

async function collectLayers(config: EchoConfig, baseDir: string, label: string, seen: Set<string>, resolver: ConfigResolver): Promise<Layer[]> {
  const own: Layer = { config, baseDir, label }
  if (!config.preset) return [own]
  if (typeof config.preset === 'object') return [...(await collectLayers(config.preset, baseDir, `${label} preset`, seen, resolver)), own]
  const { fragment, baseDir: presetDir, id } = await resolver.preset(config.preset, baseDir)
  if (seen.has(id)) throw new EchoError(ErrorCodes.E_CONFIG, `Preset '${config.preset}' extends itself in a loop: remove the 'preset' that leads back to it.`)
  seen.add(id)
  if (!isPlainObject(fragment)) {
    throw new EchoError(ErrorCodes.E_CONFIG, `Preset '${config.preset}' exports no config fragment: it must \`export default { plugins: [...], options: {...} }\`.`)
  }
  return [...(await collectLayers(fragment as EchoConfig, presetDir, `preset '${config.preset}'`, seen, resolver)), own]
}

/**
 * Turns a config (and its presets) into plugin definitions with merged options and handler
 * definitions. Throws one `E_CONFIG` listing every problem it found.
 */
export async function assemble(config: EchoConfig, role: Role, baseDir: string, label = 'config', options: AssembleOptions = {}): Promise<Assembly> {
  const resolver = options.resolver ?? objectsOnly
  const validator = options.validator ?? basicValidator
  const problems = shapeProblems(config, label)
  if (config.role && config.role !== role) problems.push(`${label}: role is '${config.role}' but it is used to create a ${role}; remove 'role' or use the matching create function`)
  if (problems.length) throw configError(problems)
  const layers = await collectLayers(config, config.root ? resolver.resolvePath(baseDir, config.root) : baseDir, label, new Set(), resolver)
  for (const layer of layers.slice(0, -1)) problems.push(...shapeProblems(layer.config, layer.label))

  const pluginErrors: EchoError[] = []
  const entries = new Map<string, AssembledPlugin & { disabled: boolean }>()
  for (const layer of layers) {
    for (const entry of layer.config.plugins ?? []) {
      const [spec, opts] = Array.isArray(entry) ? (entry as readonly [string | PluginDefinition, (Record<string, unknown> | false)?]) : [entry as string | PluginDefinition, undefined]
      let definition: PluginDefinition
      try {
        definition = typeof spec === 'string' ? await resolver.plugin(spec, layer.baseDir) : spec
        if (!isPluginDefinition(definition)) throw new EchoError(ErrorCodes.E_PLUGIN, `A plugin entry in ${layer.label} is not a plugin: it must be definePlugin({ name, version, kernel, setup }).`)
      } catch (error) {
        if (EchoError.is(error) && error.code === ErrorCodes.E_PLUGIN) pluginErrors.push(error)
        problems.push(`${layer.label}: ${messageOf(error)}`)
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
    if (p.definition.schema) problems.push(...validator.check(p.definition.schema, p.options ?? {}, `options['${p.definition.name}']`).map((m) => `plugin '${p.definition.name}': ${m}`))
  }

  const handlers: Assembly['handlers'] = []
  for (const layer of layers) {
    for (const item of layer.config.handlers ?? []) {
      if (typeof item !== 'string') {
        handlers.push({ source: `${layer.label} (inline)`, definitions: isHandlerDefinition(item) ? [item] : handlersOf(item as Record<string, unknown>) })
        continue
      }
      try {
        const definitions = handlersOf(await resolver.handlers(item, layer.baseDir))
        if (!definitions.length) problems.push(`${layer.label}: handler module '${item}' exports no defineRpc/defineEvent definitions`)
        handlers.push({ source: `handler module '${item}'`, definitions })
      } catch (error) {
        problems.push(`${layer.label}: handler module '${item}': ${messageOf(error)}`)
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
