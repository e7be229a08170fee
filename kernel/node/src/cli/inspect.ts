/**
 * `echostream inspect`: what a config assembles to (plugin order, sources, capabilities, validated
 * options, handlers), or with `--url` what a running server reports about itself through the
 * devtools plugin (its plugins, and their options where the server reports them).
 */
import { orderPlugins } from '@echostream/kernel'
import { resolveConfig } from '../create.js'
import { validateOptions } from '../validate.js'
import { fetchStatus, type StatusOptions } from './status.js'

export async function inspectConfig(options: { config?: string; json?: boolean }): Promise<void> {
  const assembly = await resolveConfig(options.config, 'server')
  const ordered = orderPlugins(assembly.plugins.map((p) => p.definition))
  const rows = ordered.map((def, index) => {
    const entry = assembly.plugins.find((p) => p.definition === def)!
    const opts = validateOptions(def.schema, entry.options, `plugin '${def.name}'`, `options['${def.name}']`)
    return { order: index + 1, name: def.name, version: def.version, source: entry.source, provides: def.provides ?? [], requires: def.requires ?? [], options: opts }
  })
  if (options.json) {
    console.log(JSON.stringify({ configFile: assembly.configFile, plugins: rows, handlers: assembly.handlers.map((h) => ({ source: h.source, handlers: h.definitions.map((d) => `${d.kind} ${d.name}`) })) }, null, 2))
    return
  }
  console.log(`config: ${assembly.configFile ?? '(inline)'}`)
  console.log('plugins (setup order):')
  for (const r of rows) {
    console.log(`  ${r.order}. ${r.name}@${r.version}  from ${r.source}${r.provides.length ? `  provides ${r.provides.join(', ')}` : ''}${r.requires.length ? `  requires ${r.requires.join(', ')}` : ''}`)
    console.log(`     options ${JSON.stringify(r.options)}`)
  }
  if (assembly.handlers.length) {
    console.log('handlers:')
    for (const h of assembly.handlers) console.log(`  ${h.source}: ${h.definitions.map((d) => `${d.kind} ${d.name}`).join(', ')}`)
  }
}

export async function inspectServer(options: StatusOptions & { json?: boolean }): Promise<void> {
  const { snapshot } = await fetchStatus(options, 'inspect')
  const s = snapshot.server
  if (options.json) {
    console.log(JSON.stringify({ url: s.url, name: s.name, version: s.version, kernelVersion: s.kernelVersion, pid: s.pid, plugins: s.plugins }, null, 2))
    return
  }
  console.log(`server: ${s.url}${s.name ? ` (${s.name})` : ''}, pid ${s.pid}, kernel ${s.kernelVersion}`)
  console.log('plugins (as the server reports them):')
  s.plugins.forEach((p, i) => {
    console.log(`  ${i + 1}. ${p.name}@${p.version}`)
    // The devtools plugin does not send options today; a server that does gets them shown.
    const reported = (p as { options?: unknown }).options
    if (reported !== undefined) console.log(`     options ${JSON.stringify(reported)}`)
  })
}
