/** The public API, added to the kernel as `kernel.discovery` (typed by augmenting `KernelApi`). */
import type { DiscoverOptions, DiscoveryEvent, WatchOptions } from './browse.js'
import type { DiscoveredService } from './txt.js'

/** What a server advertises. */
export interface Advertisement {
  /** DNS-SD instance name (`<name>@<hostname>:<port>`, dots as dashes). */
  instance: string
  /** The service name (`name` option). */
  name: string
  port: number
  /** The TXT record, key → value (see the README's TXT table). */
  txt: Readonly<Record<string, string>>
  /** The application's own properties in `txt` (`properties` option, `setProperties()`). */
  properties: Readonly<Record<string, string>>
  /** The server's own URL (`kernel.url`). */
  url: string
}

export interface DiscoveryApi {
  /**
   * Browses for `timeoutMs` and resolves with the servers that answered (an empty list when none
   * did; it never rejects for that). `name` keeps only servers advertising that name.
   */
  discover(name?: string, options?: DiscoverOptions): Promise<DiscoveredService[]>
  discover(options: DiscoverOptions): Promise<DiscoveredService[]>
  /**
   * Servers as they come (`up`) and go (`down`, when one says goodbye), until the iterator is
   * closed (`break`, `return()`, the signal) or the kernel stops. Servers already up are reported first.
   */
  discover$(name?: string, options?: WatchOptions): AsyncIterableIterator<DiscoveryEvent>
  /** Server: what is advertised (set once listening; undefined on a client, before listening, or with `advertise: false`). */
  readonly advertisement: Advertisement | undefined
  /** Server: resolves once the first announcement went out (mDNS probing takes about a second). */
  advertised(): Promise<Advertisement>
  /**
   * Server: replaces the application's TXT properties (all of them: pass the full set). Checked as
   * the `properties` option is; once advertising, the changed record is announced at once and
   * browsers report the server `up` again with the new `txt.properties`. Throws
   * `E_INVALID_ARGUMENT` for properties that cannot be advertised, `E_STATE` on a client, with
   * `advertise: false`, or after stop.
   */
  setProperties(properties: Record<string, string>): void
  /** Server: the custom properties advertised now (or to be advertised once listening). */
  readonly properties: Readonly<Record<string, string>>
}

declare module '@echostream/kernel' {
  interface KernelApi {
    discovery: DiscoveryApi
  }
}
