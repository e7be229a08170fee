/**
 * Client side: a client configured without `url` browses for a compatible server before it
 * connects. The first compatible answer wins; nothing in time is a retryable E_CLOSED that says
 * what was searched for and how to fix it.
 */
import { PROTOCOL_VERSION, type PluginKernel } from '@echostream/kernel'
import type { ServiceWatch } from './browse.js'
import { discoveryError } from './errors.js'
import type { DiscoveryOptions } from './options.js'
import type { DiscoveredService } from './txt.js'

/** Why this client could not talk to `service`, judged from its TXT record; undefined when it can. */
export function incompatibility(service: DiscoveredService, codec: string | undefined, wire: Record<string, number>): string | undefined {
  const { txt } = service
  if (txt.protocol !== undefined && txt.protocol !== PROTOCOL_VERSION) return `protocol ${txt.protocol} (this client speaks ${PROTOCOL_VERSION})`
  if (txt.codec !== undefined && codec !== undefined && txt.codec !== codec) return `codec '${txt.codec}' (this client uses '${codec}')`
  // Only a record with `txtvers` promises that a missing `plugins` field means "none".
  if (txt.txtVersion === undefined && txt.raw.plugins === undefined) return undefined
  for (const [name, version] of Object.entries(wire)) {
    if (txt.plugins[name] === undefined) return `no plugin '${name}'`
    if (txt.plugins[name] !== version) return `plugin '${name}' at wire ${txt.plugins[name]} (this client: ${version})`
  }
  return undefined
}

export async function findServer(kernel: PluginKernel, options: Readonly<DiscoveryOptions>, watch: ServiceWatch): Promise<DiscoveredService> {
  const timer = setTimeout(() => void watch.return(), options.timeoutMs)
  const skipped: string[] = []
  try {
    for await (const { type, service } of watch) {
      if (type !== 'up') continue
      const problem = incompatibility(service, kernel.codec?.name, kernel.wirePlugins())
      if (!problem) return service
      skipped.push(`${service.instance} at ${service.url}: ${problem}`)
      kernel.logger.warn(`discovery-mdns: skipping ${skipped[skipped.length - 1]}`)
    }
  } finally {
    clearTimeout(timer)
    await watch.return()
  }
  const what = options.service === undefined ? 'any echostream server' : `an echostream server named '${options.service}'`
  throw discoveryError(
    'E_CLOSED',
    `discovery-mdns: no url is configured and ${what} did not answer on mDNS (_echostream._tcp, interface ${options.interface}, mDNS port ${options.mdnsPort}) within ${options.timeoutMs} ms` +
      (skipped.length ? `; found only incompatible ones (${skipped.join('; ')})` : '') +
      `. Set \`url\` in the client config, or check that the server is running with @echostream/plugin-discovery-mdns (advertise: true${options.service === undefined ? '' : `, name: '${options.service}'`}) and that both sides use the same network (\`interface\`) and \`mdnsPort\`; raise \`timeoutMs\` if the server is still starting.`,
    { retryable: true, data: { service: options.service ?? null, interface: options.interface, mdnsPort: options.mdnsPort, timeoutMs: options.timeoutMs } },
  )
}
