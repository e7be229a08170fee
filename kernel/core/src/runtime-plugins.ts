/**
 * Loading and unloading plugins while the kernel runs (`kernel.load`, `kernel.unload`): a plugin
 * loaded late runs its `init` (and `start`) taps, one that fails half-way leaves nothing behind,
 * and unloading runs its own `stop` and `destroy` taps and disposers, then removes exactly the
 * records it owns (see host.ts). Apart from the host because a page never does this — its
 * plugins are fixed when `createClient` makes the kernel — so the package's `browser` field maps
 * this module to runtime-plugins.browser.ts, which refuses with E_CONFIG.
 */
import { EchoError, ErrorCodes, messageOf } from './errors.js'
import { hookNames } from './hooks.js'
import { callTap, type PluginHost, type PluginRecord, type StoredTap } from './host.js'
import type { PluginDefinition } from './plugin.js'

/** Loads a plugin at runtime; one that fails half-way (setup, init or start) leaves nothing behind. */
export async function loadPlugin(host: PluginHost, definition: PluginDefinition, options?: unknown): Promise<void> {
  const before = new Set(host.records)
  try {
    await host.install([[definition, options]])
  } catch (error) {
    for (const record of host.records.filter((r) => !before.has(r)).reverse()) await remove(host, record).catch(() => {})
    throw error
  }
}

export async function unloadPlugin(host: PluginHost, name: string): Promise<void> {
  const record = host.records.find((r) => r.def.name === name)
  if (!record) throw new EchoError(ErrorCodes.E_PLUGIN, `Cannot unload '${name}': no plugin of that name is loaded (loaded: ${host.records.map((r) => r.def.name).join(', ')}).`)
  const others = host.records.filter((r) => r !== record)
  for (const cap of record.def.provides ?? []) {
    if (others.some((r) => r.def.provides?.includes(cap))) continue
    const dependents = others.filter((r) => r.def.requires?.includes(cap)).map((r) => r.def.name)
    if (dependents.length) throw new EchoError(ErrorCodes.E_PLUGIN, `Cannot unload '${name}': ${dependents.join(', ')} require its capability '${cap}'; unload them first.`)
  }
  await remove(host, record)
}

/** Takes one plugin out: its own stop and destroy taps run (as load ran its init and start), then its disposers, then its records go. */
async function remove(host: PluginHost, record: PluginRecord): Promise<void> {
  const owner = record.def.name
  for (const hook of ['stop', 'destroy'] as const) {
    for (const tap of (host.hooks[hook].taps as StoredTap[]).filter((t) => t.owner === owner).reverse()) {
      await callTap(tap).catch((error) => host.kernel.logger.error(`plugin '${owner}': ${hook} failed while unloading: ${messageOf(error)}`))
    }
  }
  host.records = host.records.filter((r) => r !== record)
  const errors = await host.dispose(owner)
  removeOwner(host, owner)
  if (errors.length) throw new EchoError(ErrorCodes.E_PLUGIN, `Plugin '${owner}' failed while disposing: ${errors.map(messageOf).join('; ')}`, { cause: errors[0] })
}

/** Removes every record `owner` made: its taps, routes, APIs, decorations, handler kinds, codec/transport, meters, credentials. */
export function removeOwner(host: PluginHost, owner: string): void {
  for (const name of hookNames) {
    const hook = host.hooks[name] as unknown as { taps: StoredTap[]; _resetCompilation(): void }
    if (!hook.taps.some((t) => t.owner === owner)) continue
    hook.taps = hook.taps.filter((t) => t.owner !== owner)
    hook._resetCompilation()
  }
  for (const [kind, entry] of host.routes) if (entry.owner === owner) host.routes.delete(kind)
  host.forgetRoute()
  for (const [key, who] of host.exposed) if (who === owner) (delete (host.kernel as unknown as Record<string, unknown>)[key], host.exposed.delete(key))
  const proto = host.SessionClass.prototype as unknown as Record<string, unknown>
  for (const [key, who] of host.decorations) if (who === owner) (delete proto[key], host.decorations.delete(key))
  for (const [kind, entry] of host.handlerKinds) if (entry.owner === owner) host.handlerKinds.delete(kind)
  for (const [what, who] of host.provided) if (who === owner) ((host.kernel as unknown as Record<string, unknown>)[what] = undefined, host.provided.delete(what))
  for (const [measure, who] of host.meterOwners) if (who === owner) host.dropMeter(measure)
  for (const [field, who] of host.credentials) if (who === owner) host.credentials.delete(field)
  host.logs.removeOwner(owner)
  host.disposers = host.disposers.filter((d) => d.owner !== owner)
}
