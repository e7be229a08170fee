/**
 * The preset for apps on a local network: everything in preset-default (WebSocket transport,
 * MessagePack codec, RPC, events) plus mDNS discovery, so a client started without a `url` finds
 * its server. Unlike the plugins' own loopback defaults, this preset listens and multicasts on
 * every interface: that is the point of a LAN preset, and the README says how to narrow it.
 * Importing this module brings the plugins' type augmentations (`server.rpc`, `server.events`,
 * `server.discovery`…) into a TypeScript program.
 */
import type { EchoConfig } from '@echostream/kernel'
import presetDefault from '@echostream/preset-default'
import discoveryMdns from '@echostream/plugin-discovery-mdns'

export type {} from '@echostream/preset-default'
export type {} from '@echostream/plugin-discovery-mdns'

/** The options this preset sets on top of the plugins' own defaults (the README's defaults table). */
export const defaults = {
  /** Accept clients from other machines (the transport's own default is 127.0.0.1). */
  'transport-ws': { host: '0.0.0.0' },
  /** Advertise and browse on every IPv4 interface (the plugin's own default is 127.0.0.1 only). */
  'discovery-mdns': { interface: 'all' },
} satisfies EchoConfig['options']

const preset = {
  preset: presetDefault,
  plugins: [discoveryMdns],
  options: defaults,
} satisfies EchoConfig

export default preset
