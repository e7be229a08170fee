import { createRequire } from 'node:module'
import { definePlugin, Stage } from '@echostream/kernel'
import { Advertiser } from './advertise.js'
import { collect, ServiceWatch, type DiscoverOptions, type WatchOptions } from './browse.js'
import { discoveryError } from './errors.js'
import { findServer } from './find-server.js'
import { openMdns } from './mdns.js'
import { schema, type DiscoveryOptions } from './options.js'
import type { DiscoveryApi } from './types.js'
import type { DiscoveredService } from './txt.js'

const { version } = createRequire(import.meta.url)('../package.json') as { version: string }

const PLUGIN_NAME = 'discovery-mdns'

/**
 * Zero-config discovery over mDNS/DNS-SD (bonjour-service). A server advertises `_echostream._tcp`
 * once it listens; a client without `url` finds its server before connecting; `kernel.discovery`
 * offers `discover()` and `discover$()` on both sides. Adds no frames to the wire.
 */
export default definePlugin<DiscoveryOptions>({
  name: PLUGIN_NAME,
  version,
  kernel: '^1',
  provides: ['discovery'],
  requires: ['transport'],
  schema,
  setup(kernel, options) {
    if (!('listening' in kernel.hooks)) {
      throw discoveryError('E_PLUGIN', `discovery-mdns ${version} needs a kernel with the 'listening' hook (kernel ${kernel.version} has none): upgrade @echostream/kernel.`)
    }
    const watches = new Set<ServiceWatch>()
    let disposed = false
    const advertiser = new Advertiser(kernel, options)

    const watch = (name: string | undefined, watchOptions: WatchOptions = {}): ServiceWatch => {
      if (disposed) throw discoveryError('E_STATE', 'discovery-mdns: the kernel has stopped; discover on a running kernel.')
      const created = new ServiceWatch(openMdns(options, kernel.logger), name, watchOptions, (w) => watches.delete(w))
      watches.add(created)
      return created
    }

    function discover(name?: string, opts?: DiscoverOptions): Promise<DiscoveredService[]>
    function discover(opts: DiscoverOptions): Promise<DiscoveredService[]>
    function discover(nameOrOptions?: string | DiscoverOptions, maybeOptions: DiscoverOptions = {}): Promise<DiscoveredService[]> {
      const [name, opts] = typeof nameOrOptions === 'object' ? [undefined, nameOrOptions] : [nameOrOptions, maybeOptions]
      try {
        return collect(watch(name), opts.timeoutMs ?? options.timeoutMs, opts.signal)
      } catch (error) {
        return Promise.reject(error)
      }
    }

    const api: DiscoveryApi = {
      discover,
      discover$: (name, watchOptions) => watch(name, watchOptions),
      get advertisement() {
        return advertiser.advertisement
      },
      advertised: () => advertiser.advertised(),
      setProperties: (properties) => advertiser.setProperties(properties),
      get properties() {
        return advertiser.properties
      },
    }
    kernel.expose('discovery', api)

    if (kernel.role === 'server') {
      kernel.hooks.listening.tap(PLUGIN_NAME, (url) => advertiser.start(url))
      // Loaded into a server that already listens: advertise now.
      kernel.hooks.start.tap(PLUGIN_NAME, () => {
        if (kernel.state === 'started' && kernel.url) advertiser.start(kernel.url)
      })
      // A draining server takes no new clients: stop being found first.
      kernel.hooks.drain.tapPromise(PLUGIN_NAME, () => advertiser.stop())
      // `stop` runs before the transport closes, so clients see the goodbye before the socket goes.
      kernel.hooks.stop.tapPromise(PLUGIN_NAME, () => advertiser.stop())
    } else {
      // Early, so later `start` taps (and the connect that follows) see the discovered URL.
      kernel.hooks.start.tapPromise({ name: PLUGIN_NAME, stage: Stage.EARLY }, async () => {
        if (kernel.url) return // a configured URL always wins: no browsing at all
        const found = await findServer(kernel, options, watch(options.service))
        kernel.logger.info(`discovery-mdns: found '${found.instance}' at ${found.url}`)
        kernel.url = found.url
      })
    }

    return async () => {
      disposed = true
      await Promise.all([advertiser.stop(), ...[...watches].map((w) => w.return())])
    }
  },
})

export { schema, type DiscoveryOptions }
export { ServiceWatch, type DiscoveryEvent, type DiscoverOptions, type WatchOptions } from './browse.js'
export { incompatibility } from './find-server.js'
export { encodeTxt, parseTxt, instanceName, serviceUrl, TXT_VERSION, type DiscoveredService, type DiscoveredTxt, type AdvertisedInfo } from './txt.js'
export { SERVICE_TYPE, SERVICE_PROTOCOL } from './mdns.js'
export { RESERVED_KEYS, MAX_TXT_STRING, MAX_TXT_RECORD, propertyProblems, txtRecordSize } from './properties.js'
export { DiscoveryErrorCodes } from './errors.js'
export type { DiscoveryApi, Advertisement } from './types.js'
