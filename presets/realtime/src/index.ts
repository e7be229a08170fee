/**
 * The preset for live media, telemetry and anything time-stamped: everything in preset-default
 * (WebSocket transport, MessagePack codec, RPC, events) plus streams (credit-based flow control,
 * async-iterator receivers, the `stream.playout()` jitter buffer) and clock sync (every frame's
 * `wallTime` in the server's timebase). Importing this module brings the plugins' type
 * augmentations (`server.streams`, `client.clock`…) into a TypeScript program.
 */
import type { ApisOf, EchoConfig } from '@echostream/kernel'
import presetDefault from '@echostream/preset-default'
import streams from '@echostream/plugin-streams'
import clockSync from '@echostream/plugin-clock-sync'

export type {} from '@echostream/preset-default'
export type {} from '@echostream/plugin-clock-sync'
// Handler modules of an app on this preset write `defineStream` without depending on the plugin.
export { defineStream, type StreamFrame, type StreamHandler, type StreamContext, type StreamReader, type StreamWriter } from '@echostream/plugin-streams'

/** The options this preset sets on top of the plugins' own defaults (the README's defaults table). */
export const defaults = {
  /**
   * Notice a dead peer within 10 s instead of 45 s: a live stream that silently stalls is worse
   * than one that fails and reconnects.
   */
  'transport-ws': { pingIntervalMs: 5000, pingTimeoutMs: 5000 },
} satisfies EchoConfig['options']

const preset = {
  preset: presetDefault,
  // Clock sync first: streams stamp frames with `clock.now()` when the clock is loaded.
  plugins: [clockSync, streams],
  options: defaults,
} satisfies EchoConfig

export default preset

declare module '@echostream/kernel' {
  /** `preset: '@echostream/preset-realtime'` in a config: the APIs of this preset's plugins (see the kernel's config-types.ts). */
  interface PresetApis {
    '@echostream/preset-realtime': ApisOf<typeof preset>
  }
}
