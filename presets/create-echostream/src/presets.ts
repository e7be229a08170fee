/** The presets a new app can start from, and what each one lets the templates use. */
export interface PresetInfo {
  /** npm package of the preset. */
  package: string
  /** One line for prompts and READMEs. */
  summary: string
  /** The preset loads the events plugin (chat handler, client listens for events). */
  events: boolean
  /** The preset loads streams and clock sync (meter stream handler). */
  streams: boolean
  /** The preset loads mDNS discovery (the client finds the server without a URL). */
  discovery: boolean
}

export const PRESETS = {
  default: {
    package: '@echostream/preset-default',
    summary: 'WebSocket transport, MessagePack codec, RPC and events',
    events: true,
    streams: false,
    discovery: false,
  },
  minimal: {
    package: '@echostream/preset-minimal',
    summary: 'WebSocket transport, MessagePack codec and RPC only',
    events: false,
    streams: false,
    discovery: false,
  },
  lan: {
    package: '@echostream/preset-lan',
    summary: 'default + mDNS discovery: clients on the local network find the server by name',
    events: true,
    streams: false,
    discovery: true,
  },
  realtime: {
    package: '@echostream/preset-realtime',
    summary: 'default + streams with flow control and a jitter buffer, and clock sync',
    events: true,
    streams: true,
    discovery: false,
  },
} as const satisfies Record<string, PresetInfo>

export type PresetName = keyof typeof PRESETS

export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[]

export function isPresetName(value: string): value is PresetName {
  return Object.prototype.hasOwnProperty.call(PRESETS, value)
}
