import { KEY_PATTERN, MAX_TXT_STRING } from './properties.js'

/** The plugin's options: this schema is the README's option table (keep them in step). */
export interface DiscoveryOptions {
  /** Server: the service name advertised (TXT `name`, and the first part of the DNS-SD instance name). */
  name: string
  /** Client: connect only to a server advertising this name; absent = any echostream server. */
  service?: string
  /** Server: the application's version, advertised in TXT `app`. */
  appVersion?: string
  /** Client start and `discover()`: how long to wait for answers, in ms. */
  timeoutMs: number
  /** IPv4 address of the interface mDNS joins and multicasts on; `'all'` = every IPv4 interface. */
  interface: string
  /** Address the mDNS UDP socket binds to. */
  bind: string
  /** UDP port of mDNS. 5353 is the standard; tests use another so they never meet a real responder. */
  mdnsPort: number
  /** IP time-to-live of the multicast packets (hops). */
  ttl: number
  /** Server: advertise when listening. */
  advertise: boolean
  /** Server: the application's own TXT properties (`key=value`), e.g. `{ caps: 'recognise,translate' }`. */
  properties?: Record<string, string>
}

export const DEFAULT_TIMEOUT_MS = 3000
export const ALL_INTERFACES = 'all'

export const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    name: {
      type: 'string',
      minLength: 1,
      maxLength: 40,
      default: 'echostream',
      description: 'Server: the service name to advertise (TXT `name`; the DNS-SD instance is `<name>@<hostname>:<port>`).',
    },
    service: { type: 'string', minLength: 1, description: 'Client: connect only to servers advertising this name (default: any echostream server).' },
    appVersion: { type: 'string', maxLength: 64, description: 'Server: your application\'s version, advertised in TXT `app`.' },
    timeoutMs: { type: 'integer', minimum: 1, default: DEFAULT_TIMEOUT_MS, description: 'Client without `url`: how long start() browses for a server; also the default of discover().' },
    interface: {
      type: 'string',
      minLength: 1,
      default: '127.0.0.1',
      description: "IPv4 address of the network interface mDNS joins and multicasts on. Loopback by default (same machine only); your LAN address (e.g. '192.168.1.20') on a LAN; 'all' for every IPv4 interface.",
    },
    bind: { type: 'string', minLength: 1, default: '0.0.0.0', description: "Address the mDNS UDP socket binds to. Keep '0.0.0.0': multicast is not delivered to a socket bound to a unicast address." },
    mdnsPort: { type: 'integer', minimum: 1, maximum: 65535, default: 5353, description: 'UDP port of mDNS. Every server and client must use the same one; tests use another (e.g. 5354).' },
    ttl: { type: 'integer', minimum: 1, maximum: 255, default: 255, description: 'IP time-to-live (hop limit) of the multicast packets; RFC 6762 requires 255.' },
    advertise: { type: 'boolean', default: true, description: 'Server: advertise `_echostream._tcp` once listening. false = only use discover()/discover$().' },
    properties: {
      type: 'object',
      propertyNames: { pattern: KEY_PATTERN },
      additionalProperties: { type: 'string', minLength: 1, maxLength: MAX_TXT_STRING },
      description:
        "Server: your own TXT properties, key → non-empty string, advertised beside the plugin's fields (clients read them as `service.txt.properties`). Keys: printable ASCII without '=' or space, not a reserved key, unique ignoring case; each `key=value` ≤ 255 bytes, the whole record ≤ 1300 bytes.",
    },
  },
} as const
