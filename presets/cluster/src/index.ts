/**
 * The preset for several server nodes that act as one, on a shared Redis: everything in
 * preset-default (WebSocket transport, MessagePack codec, RPC, events) plus reconnect (a client
 * whose node dies reconnects and resumes) and the cluster plugin (rooms, broadcasts and presence
 * across nodes, routing to a session on any node, resume on any node with exactly-once replay).
 * The same preset on clients: give them the nodes' URLs (`options.cluster.urls`).
 */
import type { EchoConfig } from '@echostream/kernel'
import presetDefault from '@echostream/preset-default'
import reconnect from '@echostream/plugin-reconnect'
import cluster from '@echostream/plugin-cluster'

export type {} from '@echostream/preset-default'
export type {} from '@echostream/plugin-reconnect'
export type {} from '@echostream/plugin-cluster'

/** The options this preset sets on top of the plugins' own defaults (the README's defaults table). */
export const defaults = {
  /**
   * A client notices a node that vanished without closing (a network partition rather than a
   * crash: a crash closes the TCP connection at once) within 10 s instead of 45 s, and moves on.
   */
  'transport-ws': { pingIntervalMs: 5000, pingTimeoutMs: 5000 },
  /** Retry quickly: another node is usually up; the next URL is tried on every attempt. */
  reconnect: { initialDelayMs: 250, maxDelayMs: 2000 },
} satisfies EchoConfig['options']

const preset = {
  preset: presetDefault,
  plugins: [reconnect, cluster],
  options: defaults,
} satisfies EchoConfig

export default preset
