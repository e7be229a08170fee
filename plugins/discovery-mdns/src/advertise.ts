/**
 * Server side: advertise `_echostream._tcp` once the transport listens, and take it back (goodbye
 * packets, socket closed) on drain, stop or unload.
 */
import { hostname } from 'node:os'
import { PROTOCOL_VERSION, type PluginKernel } from '@echostream/kernel'
import { discoveryError } from './errors.js'
import { openMdns, type Mdns, type Publication } from './mdns.js'
import type { DiscoveryOptions } from './options.js'
import { propertyProblems } from './properties.js'
import { encodeTxt, instanceName } from './txt.js'
import type { Advertisement } from './types.js'

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]'])

export class Advertiser {
  readonly #kernel: PluginKernel
  readonly #options: Readonly<DiscoveryOptions>
  #mdns: Mdns | undefined
  #publication: Publication | undefined
  /** The plugin's own TXT fields once listening (what custom properties are sized against). */
  #base: Record<string, string> = {}
  #properties: Readonly<Record<string, string>>
  #advertisement: Advertisement | undefined
  #stopped = false
  #announced: { promise: Promise<Advertisement>; resolve(a: Advertisement): void; reject(e: unknown): void }

  constructor(kernel: PluginKernel, options: Readonly<DiscoveryOptions>) {
    this.#kernel = kernel
    this.#options = options
    const problems = propertyProblems(options.properties ?? {})
    if (problems.length > 0) throw discoveryError('E_CONFIG', `discovery-mdns: option \`properties\`: ${problems.join('; ')}.`)
    this.#properties = Object.freeze({ ...options.properties })
    let resolve!: (a: Advertisement) => void
    let reject!: (e: unknown) => void
    const promise = new Promise<Advertisement>((res, rej) => ((resolve = res), (reject = rej)))
    promise.catch(() => {}) // only callers of advertised() care
    this.#announced = { promise, resolve, reject }
  }

  get advertisement(): Advertisement | undefined {
    return this.#advertisement
  }

  advertised(): Promise<Advertisement> {
    if (this.#kernel.role !== 'server' || !this.#options.advertise) {
      return Promise.reject(discoveryError('E_STATE', `discovery-mdns: this ${this.#kernel.role} does not advertise${this.#kernel.role === 'server' ? ' (advertise: false)' : ''}; only a server with \`advertise: true\` does.`))
    }
    return this.#announced.promise
  }

  /** Publishes the service for `url` (the transport's listening URL). Throws E_CONFIG for an unusable interface. */
  start(url: string): void {
    if (this.#mdns || this.#stopped || !this.#options.advertise) return
    const kernel = this.#kernel
    const options = this.#options
    const parsed = new URL(url)
    const port = Number(parsed.port) || (parsed.protocol === 'wss:' || parsed.protocol === 'https:' ? 443 : 80)
    const warn = (message: string) => kernel.logger.warn(message)
    this.#warnIfUnreachable(parsed)
    const base = encodeTxt(
      {
        name: options.name,
        protocol: PROTOCOL_VERSION,
        codec: kernel.codec?.name ?? 'unknown',
        plugins: kernel.wirePlugins(),
        appVersion: options.appVersion,
        scheme: parsed.protocol.replace(/:$/, ''),
        path: parsed.pathname || '/',
      },
      warn,
    )
    const problems = propertyProblems(this.#properties, base)
    if (problems.length > 0) throw discoveryError('E_CONFIG', `discovery-mdns: option \`properties\`: ${problems.join('; ')}.`)
    this.#base = base
    const txt = { ...base, ...this.#properties }
    const instance = instanceName(options.name, hostname(), port)
    this.#mdns = openMdns(options, kernel.logger)
    const advertisement: Advertisement = Object.freeze({ instance, name: options.name, port, txt: Object.freeze(txt), properties: this.#properties, url })
    this.#advertisement = advertisement
    this.#publication = this.#mdns.publish(instance, port, txt)
    this.#publication.published.then(
      () => {
        kernel.logger.info(`discovery-mdns: advertising '${instance}' (_echostream._tcp, port ${port}) on interface ${options.interface}, mDNS port ${options.mdnsPort}`)
        this.#announced.resolve(advertisement)
      },
      (error) => this.#announced.reject(error),
    )
  }

  get properties(): Readonly<Record<string, string>> {
    return this.#properties
  }

  /**
   * Replaces the custom TXT properties; once advertising, the changed record is announced at once.
   * Throws E_INVALID_ARGUMENT (what is wrong, every problem) or E_STATE (nothing advertises here).
   */
  setProperties(properties: Record<string, string>): void {
    if (this.#kernel.role !== 'server' || !this.#options.advertise || this.#stopped) {
      throw discoveryError('E_STATE', `discovery-mdns: setProperties() on a ${this.#kernel.role} that does not advertise${this.#stopped ? ' (stopped)' : ''}; only a running server with \`advertise: true\` has a TXT record.`)
    }
    const problems = propertyProblems(properties, this.#base)
    if (problems.length > 0) throw discoveryError('E_INVALID_ARGUMENT', `discovery-mdns: setProperties(): ${problems.join('; ')}.`)
    this.#properties = Object.freeze({ ...properties })
    const current = this.#advertisement
    if (!current || !this.#publication) return // not listening yet: start() uses them
    const txt = { ...this.#base, ...this.#properties }
    this.#advertisement = Object.freeze({ ...current, txt: Object.freeze(txt), properties: this.#properties })
    this.#publication.updateTxt(txt)
  }

  /** Says goodbye and closes the socket. Idempotent; later `start` calls do nothing. */
  async stop(): Promise<void> {
    this.#stopped = true
    const mdns = this.#mdns
    this.#mdns = undefined
    this.#publication = undefined
    this.#advertisement = undefined
    this.#announced.reject(discoveryError('E_STATE', 'discovery-mdns: the server stopped advertising before it was announced.'))
    await mdns?.close()
  }

  /** A loopback-only transport advertised beyond this machine is found but cannot be reached: say so. */
  #warnIfUnreachable(url: URL): void {
    if (this.#options.interface.startsWith('127.')) return
    const transport = this.#kernel.plugins().find((p) => p.provides.includes('transport'))
    const host = (transport?.options as { host?: unknown } | undefined)?.host
    if (typeof host === 'string' ? LOOPBACK_HOSTS.has(host) : LOOPBACK_HOSTS.has(url.hostname)) {
      this.#kernel.logger.warn(
        `discovery-mdns: advertising on interface ${this.#options.interface}, but the transport listens on loopback (${url.host}); clients elsewhere will find it and fail to connect. Listen on '0.0.0.0' or the LAN address.`,
      )
    }
  }
}
