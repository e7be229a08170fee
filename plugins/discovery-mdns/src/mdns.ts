/**
 * The one place that touches bonjour-service (STYLE rule 11): an mDNS socket that can publish one
 * service and browse `_echostream._tcp`, always on the interface, bind address and port it is given.
 * bonjour-service's defaults multicast on every interface of the machine; here `'all'` has to be
 * asked for by name.
 */
import { networkInterfaces } from 'node:os'
import type { EventEmitter } from 'node:events'
import { Bonjour, type Browser, type Service } from 'bonjour-service'
import { discoveryError } from './errors.js'
import { ALL_INTERFACES } from './options.js'

/** `_echostream._tcp` */
export const SERVICE_TYPE = 'echostream'
export const SERVICE_PROTOCOL = 'tcp'

export interface MdnsConfig {
  interface: string
  bind: string
  mdnsPort: number
  ttl: number
}

export interface MdnsLog {
  warn(message: string): void
}

/** A service as an mDNS answer described it (untrusted: it came from the network). */
export interface RawService {
  /** DNS-SD instance name (`chat@host:5000`). */
  instance: string
  fqdn: string
  /** SRV target host name. */
  host: string
  port: number
  /** Source address of the answer, i.e. the address the server multicast from. */
  referer?: { address: string; family: string }
  txt: Record<string, string | undefined>
}

export interface BrowseHandlers {
  up(service: RawService): void
  down(service: RawService): void
  /** The socket failed (could not bind…): browsing is over. */
  error(error: Error): void
}

export interface Browsing {
  /** Asks again (PTR query); servers that are already known answer without a new `up`. */
  requery(): void
  stop(): void
}

export interface Publication {
  /** Resolves once the first announcement went out (after probing, about a second). */
  readonly published: Promise<void>
  /**
   * Replaces the TXT record: answers to later queries carry it, and once announced it is announced
   * again at once (the whole service, as browsers only take a TXT record beside its PTR and SRV).
   */
  updateTxt(txt: Record<string, string>): void
}

export interface Mdns {
  publish(instance: string, port: number, txt: Record<string, string>): Publication
  browse(handlers: BrowseHandlers): Browsing
  /** Sends goodbyes (TTL 0) for what it published, then closes the socket. Idempotent. */
  close(): Promise<void>
}

/** Throws E_CONFIG when `interface` is not an IPv4 address of this machine (nothing would ever arrive). */
export function checkInterface(address: string): void {
  if (address === ALL_INTERFACES) return
  const mine = Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && (a.family === 'IPv4' || (a.family as unknown) === 4))
    .map((a) => a!.address)
  if (mine.includes(address)) return
  throw discoveryError(
    'E_CONFIG',
    `discovery-mdns: interface '${address}' is not an IPv4 address of this machine (it has ${mine.join(', ') || 'none'}). ` +
      `Set \`interface\` to the address of the network card to discover on ('127.0.0.1' for this machine only, your LAN address on a LAN, '${ALL_INTERFACES}' for every interface).`,
  )
}

interface DnsRecord {
  name: string
  type: string
  data: unknown
}

interface Internals {
  server: { mdns: EventEmitter & { respond(packet: DnsRecord[], cb: (error?: Error) => void): void }; registry: Record<string, DnsRecord[] | undefined> }
}

interface PublishedService {
  fqdn: string
  txt: Record<string, string>
  activated: boolean
  destroyed: boolean
  records(): DnsRecord[]
}

function toRaw(service: Service): RawService {
  const referer = service.referer as { address?: unknown; family?: unknown } | undefined
  return {
    instance: String(service.name ?? ''),
    fqdn: String(service.fqdn ?? ''),
    host: String(service.host ?? ''),
    port: Number(service.port),
    referer: typeof referer?.address === 'string' ? { address: referer.address, family: String(referer.family ?? 'IPv4') } : undefined,
    txt: typeof service.txt === 'object' && service.txt !== null ? (service.txt as Record<string, string | undefined>) : {},
  }
}

/** Opens an mDNS socket (bound at once) on the configured interface, bind address and port. */
export function openMdns(config: MdnsConfig, log: MdnsLog): Mdns {
  checkInterface(config.interface)
  const where = `${config.bind}:${config.mdnsPort} (interface ${config.interface})`
  const warned = new Set<string>()
  const warnOnce = (message: string) => {
    // multicast-dns retries memberships every 5 s and warns on every bad packet: say each thing once.
    if (warned.has(message) || warned.size > 20) return
    warned.add(message)
    log.warn(`discovery-mdns: ${message}`)
  }
  const bonjour = new Bonjour(
    // multicast-dns options; bonjour-service types them as a ServiceConfig.
    {
      ...(config.interface === ALL_INTERFACES ? {} : { interface: config.interface }),
      bind: config.bind,
      port: config.mdnsPort,
      ttl: config.ttl,
    } as unknown as ConstructorParameters<typeof Bonjour>[0],
    // Without this callback bonjour-service throws a failed send out of a socket callback.
    (error: Error) => warnOnce(`mDNS send failed on ${where}: ${error?.message ?? error}`),
  )
  const internals = (bonjour as unknown as Internals).server
  const socket = internals.mdns
  let failure: Error | undefined
  const failed = new Set<(error: Error) => void>()
  socket.on('error', (error: Error) => {
    failure = discoveryError('E_CONFIG', `discovery-mdns: cannot open the mDNS socket on ${where}: ${error.message}. Check \`bind\` and \`mdnsPort\` (ports below 1024 need privileges).`, { cause: error })
    warnOnce(failure.message.replace(/^discovery-mdns: /, ''))
    for (const fn of failed) fn(failure)
  })
  socket.on('warning', (error: NodeJS.ErrnoException) => {
    // A failed bind also arrives as 'error', reported above with what to fix.
    if (error?.syscall === 'bind') return
    if (error?.syscall) warnOnce(`${error.message} on ${where}; is \`interface\` the address of an interface that is up?`)
    else warnOnce(`ignored a malformed mDNS packet on ${where}: ${error?.message ?? error}`) // untrusted bytes never throw
  })

  let closing: Promise<void> | undefined
  const browsers = new Set<Browser>()
  const pendingPublications = new Set<() => void>()

  return {
    publish(instance, port, txt) {
      const service = bonjour.publish({ name: instance, type: SERVICE_TYPE, protocol: SERVICE_PROTOCOL, port, txt })
      const published = new Promise<void>((resolve, reject) => {
        const cancel = () => reject(discoveryError('E_STATE', `discovery-mdns: stopped before '${instance}' was announced.`))
        pendingPublications.add(cancel)
        service.once('up', () => {
          pendingPublications.delete(cancel)
          resolve()
        })
      })
      published.catch(() => {})
      return {
        published,
        updateTxt(txt) {
          // bonjour-service 1.4 has no API for this. Its responder answers from the records it
          // registered at the first announcement (the same objects its re-announce timer sends),
          // so the TXT record's data is replaced in place; before that, the service's own `txt`
          // is what the first announcement will use.
          const published = service as unknown as PublishedService
          published.txt = txt
          if (closing || !published.activated || published.destroyed) return
          const fresh = published.records()
          const record = fresh.find((r) => r.type === 'TXT')
          const registered = (internals.registry.TXT ?? []).filter((r) => r.name === published.fqdn)
          if (!record || registered.length === 0) return // not announced yet: the announcement carries it
          for (const r of registered) r.data = record.data
          // RFC 6762 §8.4: a changed record is announced again.
          internals.mdns.respond(fresh, (error) => {
            if (error) warnOnce(`mDNS send failed on ${where}: ${error.message}`)
          })
        },
      }
    },

    browse(handlers) {
      if (failure) {
        const error = failure
        queueMicrotask(() => handlers.error(error))
      }
      failed.add(handlers.error)
      const browser = bonjour.find({ type: SERVICE_TYPE, protocol: SERVICE_PROTOCOL })
      browsers.add(browser)
      const onUp = (s: Service) => handlers.up(toRaw(s))
      const onDown = (s: Service) => handlers.down(toRaw(s))
      // A changed SRV or TXT record is reported as the service coming up again, with new data.
      const onUpdate = (s: Service) => handlers.up(toRaw(s))
      browser.on('up', onUp)
      browser.on('down', onDown)
      browser.on('srv-update', onUpdate)
      browser.on('txt-update', onUpdate)
      return {
        requery: () => {
          if (!closing && browsers.has(browser)) browser.update()
        },
        stop: () => {
          failed.delete(handlers.error)
          if (!browsers.delete(browser)) return
          browser.stop()
          browser.removeAllListeners()
        },
      }
    },

    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const browser of browsers) browser.stop()
        browsers.clear()
        failed.clear()
        for (const cancel of pendingPublications) cancel()
        pendingPublications.clear()
        // A send callback always fires, but never let a broken socket hold `stop()` forever.
        const guard = setTimeout(finish, 2000)
        guard.unref()
        let done = false
        function finish() {
          if (done) return
          done = true
          clearTimeout(guard)
          try {
            bonjour.destroy(() => resolve())
          } catch {
            resolve() // the socket never opened (bind failed): nothing left to close
          }
        }
        // Goodbyes (TTL 0) first, so browsers report the server gone at once; then close the socket.
        try {
          bonjour.unpublishAll(finish)
        } catch {
          finish()
        }
      })
      return closing
    },
  }
}
