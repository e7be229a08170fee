/**
 * Orders plugins so every capability is set up before the plugins that require it, keeping the
 * config's order otherwise, and refuses what cannot work: a missing capability, a cycle, two
 * providers of a single-provider capability, a kernel range this kernel does not satisfy.
 */
import { EchoError, ErrorCodes } from './errors.js'
import { SINGLE_PROVIDER_CAPABILITIES, type PluginDefinition, type Role } from './plugin.js'

export { checkKernelRange } from './kernel-range.js'

/** Where each capability comes from, for "install X" hints in errors. */
const KNOWN_PROVIDERS: Record<string, string> = {
  transport: '@echostream/plugin-transport-ws',
  codec: '@echostream/plugin-codec-msgpack',
  rpc: '@echostream/plugin-rpc',
  events: '@echostream/plugin-events',
  streams: '@echostream/plugin-streams',
  clock: '@echostream/plugin-clock-sync',
}

export function checkRole(plugin: PluginDefinition, role: Role): void {
  if (plugin.roles && !plugin.roles.includes(role)) {
    throw new EchoError(ErrorCodes.E_PLUGIN, `Plugin '${plugin.name}' works only in the ${plugin.roles.join('/')} role, not in a ${role}: remove it from this ${role}'s config.`)
  }
}

function hint(capability: string): string {
  const pkg = KNOWN_PROVIDERS[capability]
  return pkg ? `add ${pkg} (or another plugin that provides '${capability}') to your config` : `add a plugin that provides '${capability}' to your config`
}

/**
 * `loaded` are plugins already running (runtime `kernel.load`): they count as providers and stay
 * first. Returns the new plugins in setup order.
 */
export function orderPlugins(plugins: readonly PluginDefinition[], loaded: readonly PluginDefinition[] = []): PluginDefinition[] {
  const names = new Set(loaded.map((p) => p.name))
  for (const p of plugins) {
    if (names.has(p.name)) {
      throw new EchoError(ErrorCodes.E_PLUGIN, `Plugin '${p.name}' is listed twice: keep one entry (a config entry replaces a preset's entry of the same name).`)
    }
    names.add(p.name)
  }

  const providers = new Map<string, string[]>()
  for (const p of [...loaded, ...plugins]) {
    for (const cap of p.provides ?? []) providers.set(cap, [...(providers.get(cap) ?? []), p.name])
  }
  for (const [cap, who] of providers) {
    if (who.length > 1 && SINGLE_PROVIDER_CAPABILITIES.has(cap)) {
      throw new EchoError(ErrorCodes.E_PLUGIN, `Two plugins provide '${cap}' (${who.join(' and ')}), but a kernel has exactly one ${cap}: remove one of them (a preset's ${cap} is replaced by listing yours under the same plugin name, or disable it with [spec, false]).`)
    }
  }
  for (const p of plugins) {
    for (const cap of p.requires ?? []) {
      if (!providers.has(cap)) {
        throw new EchoError(ErrorCodes.E_PLUGIN, `Plugin '${p.name}' requires capability '${cap}', which no loaded plugin provides: ${hint(cap)}.`, { data: { plugin: p.name, capability: cap } })
      }
    }
  }

  // Depth-first topological sort over the config order; `visiting` detects cycles.
  const byCapability = new Map<string, PluginDefinition[]>()
  for (const p of plugins) for (const cap of p.provides ?? []) byCapability.set(cap, [...(byCapability.get(cap) ?? []), p])
  const done = new Set<PluginDefinition>()
  const visiting: PluginDefinition[] = []
  const ordered: PluginDefinition[] = []
  const visit = (p: PluginDefinition): void => {
    if (done.has(p)) return
    const at = visiting.indexOf(p)
    if (at >= 0) {
      const cycle = [...visiting.slice(at), p].map((x) => x.name).join(' → ')
      throw new EchoError(ErrorCodes.E_PLUGIN, `Plugins require each other in a cycle (${cycle}): one of them must stop requiring the other's capability (make it 'optional' and check at runtime).`)
    }
    visiting.push(p)
    for (const cap of [...(p.requires ?? []), ...(p.optional ?? [])]) {
      for (const dep of byCapability.get(cap) ?? []) if (dep !== p) visit(dep)
    }
    visiting.pop()
    done.add(p)
    ordered.push(p)
  }
  for (const p of plugins) visit(p)
  return ordered
}
