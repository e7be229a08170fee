/**
 * What a server puts in its TXT record and how a client reads it back. TXT data comes from the
 * network, so parsing never throws: a field that does not parse is left out (and kept in `raw`).
 */
import type { RawService } from './mdns.js'
import { customProperties, MAX_TXT_STRING } from './properties.js'

/** Version of the TXT layout below (TXT `txtvers`, as DNS-SD recommends). */
export const TXT_VERSION = 1

/** What a server advertises. */
export interface AdvertisedInfo {
  name: string
  protocol: number
  codec: string
  plugins: Record<string, number>
  appVersion?: string
  scheme: string
  path: string
  /** The application's own properties (already validated: see properties.ts). */
  properties?: Readonly<Record<string, string>>
}

/** TXT fields as a client parsed them; absent when the server did not send them or they did not parse. */
export interface DiscoveredTxt {
  txtVersion?: number
  /** The service name the server advertises. */
  name?: string
  /** echostream wire protocol version (PROTOCOL_VERSION). */
  protocol?: number
  /** Codec name (`msgpack`). */
  codec?: string
  /** Plugins that change the wire, name → wire version (empty when the server loads none). */
  plugins: Record<string, number>
  /** The application's version (`appVersion` option). */
  appVersion?: string
  /** URL scheme of the transport (`ws`, `wss`). */
  scheme: string
  /** URL path of the endpoint. */
  path: string
  /** The application's own properties (`properties` option / `setProperties()`): every key received that the plugin does not write itself. */
  properties: Record<string, string>
  /** Every TXT key as received. */
  raw: Record<string, string>
}

/** One server found on the network. */
export interface DiscoveredService {
  /** The advertised service name (TXT `name`; the instance name when the server sent none). */
  name: string
  /** DNS-SD instance name, unique on the network (`chat@host:5000`). */
  instance: string
  /** The host name in the server's SRV record. */
  host: string
  /** The address to connect to: where the server's mDNS answer came from (or `host` when unknown). */
  address: string
  port: number
  /** Ready to pass to a client as `url`. */
  url: string
  txt: DiscoveredTxt
}

export function encodePlugins(plugins: Record<string, number>): string {
  return Object.entries(plugins)
    .map(([name, wire]) => `${name}:${wire}`)
    .join(',')
}

function parsePlugins(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {}
  if (!text) return out
  for (const part of text.split(',')) {
    const match = /^([^:,]+):(\d{1,9})$/.exec(part.trim())
    if (match) out[match[1]!] = Number(match[2])
  }
  return out
}

/**
 * TXT key → value for the advertisement. Empty values are left out (bonjour-service reads `key=`
 * back as nothing), and so is a string over 255 bytes, with a warning, instead of breaking the record.
 */
export function encodeTxt(info: AdvertisedInfo, warn: (message: string) => void = () => {}): Record<string, string> {
  const fields: Record<string, string | undefined> = {
    txtvers: String(TXT_VERSION),
    name: info.name,
    proto: String(info.protocol),
    codec: info.codec,
    plugins: encodePlugins(info.plugins),
    app: info.appVersion,
    scheme: info.scheme,
    path: info.path,
  }
  const txt: Record<string, string> = {}
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined || value === '') continue
    if (Buffer.byteLength(`${key}=${value}`) > MAX_TXT_STRING) {
      warn(`discovery-mdns: TXT field '${key}' is longer than ${MAX_TXT_STRING} bytes and is not advertised.`)
      continue
    }
    txt[key] = value
  }
  // Validated when set (properties.ts): they fit, and no key collides with the fields above.
  for (const [key, value] of Object.entries(info.properties ?? {})) txt[key] = value
  return txt
}

function integer(text: string | undefined): number | undefined {
  return text !== undefined && /^\d{1,9}$/.test(text) ? Number(text) : undefined
}

export function parseTxt(raw: Record<string, string | undefined>): DiscoveredTxt {
  const clean: Record<string, string> = {}
  for (const [key, value] of Object.entries(raw)) if (typeof value === 'string') clean[key] = value
  const scheme = clean.scheme && /^[a-z][a-z0-9+.-]*$/i.test(clean.scheme) ? clean.scheme.toLowerCase() : 'ws'
  const path = clean.path?.startsWith('/') ? clean.path : '/'
  const txt: DiscoveredTxt = { plugins: parsePlugins(clean.plugins), scheme, path, properties: customProperties(clean), raw: clean }
  const txtVersion = integer(clean.txtvers)
  if (txtVersion !== undefined) txt.txtVersion = txtVersion
  if (clean.name) txt.name = clean.name
  const protocol = integer(clean.proto)
  if (protocol !== undefined) txt.protocol = protocol
  if (clean.codec) txt.codec = clean.codec
  if (clean.app) txt.appVersion = clean.app
  return txt
}

/** DNS-SD instance names must be unique on the network: name, host and port make them so. */
export function instanceName(name: string, hostname: string, port: number): string {
  // bonjour-service turns dots into dashes (a dot would start a new DNS label); do it here so it is visible.
  const suffix = `:${port}`
  let head = `${name}@${hostname}`.replace(/\./g, '-')
  // A DNS label holds 63 bytes: shorten the host part, never the port that makes the name unique.
  while (Buffer.byteLength(head + suffix) > 63) head = head.slice(0, -1)
  return head + suffix
}

export function serviceUrl(scheme: string, address: string, port: number, path: string): string {
  const host = address.includes(':') && !address.startsWith('[') ? `[${address}]` : address
  return `${scheme}://${host}:${port}${path === '/' ? '' : path}`
}

/** A network answer as the API reports it, or undefined when it cannot be connected to. */
export function toDiscovered(raw: RawService): DiscoveredService | undefined {
  if (!Number.isInteger(raw.port) || raw.port < 1 || raw.port > 65535) return undefined
  const txt = parseTxt(raw.txt)
  // The answer's source address is reachable from here; `service.addresses` lists every interface
  // of the server, including ones this machine cannot reach (TOOLCHAIN.md).
  const address = raw.referer?.address || raw.host
  if (!address) return undefined
  return {
    name: txt.name ?? raw.instance,
    instance: raw.instance,
    host: raw.host,
    address,
    port: raw.port,
    url: serviceUrl(txt.scheme, address, raw.port, txt.path),
    txt,
  }
}

/** Whether a service answers to the name filter (its advertised name, or its exact instance name). */
export function matchesName(service: DiscoveredService, name: string | undefined): boolean {
  return name === undefined || service.name === name || service.instance === name
}
