/**
 * Type tests (checked by `pnpm test`'s typecheck): the server and client types follow the plugins
 * a config loads — `server.rpc` only with the rpc plugin, no `server.streams` on a preset without
 * streams — and fall back to every plugin's API when a plugin is not known to the types.
 */
import { expectTypeOf } from 'vitest'
import { createServer as createCoreServer, definePlugin, type KernelApi } from '@echostream/kernel'
import { createClient, createServer } from '@echostream/node'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import rpc, { type RpcApi } from '@echostream/plugin-rpc'
import events, { type EventsApi } from '@echostream/plugin-events'
import streams from '@echostream/plugin-streams'
import presetDefault from '@echostream/preset-default'
import presetMinimal from '@echostream/preset-minimal'
import presetRealtime from '@echostream/preset-realtime'

export async function configTypes(): Promise<void> {
  // Plugins given as objects.
  const minimal = await createServer({ plugins: [transportWs, codecMsgpack, rpc] })
  expectTypeOf(minimal.rpc).toEqualTypeOf<RpcApi>()
  // @ts-expect-error no events plugin in this config
  void minimal.events
  // @ts-expect-error no streams plugin in this config
  void minimal.streams

  const withStreams = await createServer({ plugins: [transportWs, codecMsgpack, rpc, [streams, { streamWindow: 65536 }]] })
  void withStreams.streams.handle
  // @ts-expect-error still no events
  void withStreams.events

  // Presets, as objects and by package name.
  const byObject = await createServer({ preset: presetDefault })
  expectTypeOf(byObject.events).toEqualTypeOf<EventsApi>()
  // @ts-expect-error preset-default has no streams
  void byObject.streams
  const byName = await createServer({ preset: '@echostream/preset-default', options: { 'transport-ws': { port: 0 } } })
  void byName.rpc.request
  void byName.events.broadcast
  // @ts-expect-error preset-default has no streams
  void byName.streams
  // @ts-expect-error preset-default has no clock
  void byName.clock
  const small = await createClient({ preset: presetMinimal, url: 'ws://127.0.0.1:1' })
  void small.rpc.request
  // @ts-expect-error preset-minimal has no events
  void small.events
  const realtime = await createClient({ preset: '@echostream/preset-realtime', url: 'ws://127.0.0.1:1' })
  void realtime.streams.open
  void realtime.clock.now
  void realtime.events.emit
  const realtimeObject = await createServer({ preset: presetRealtime, plugins: ['@echostream/plugin-rpc'] })
  void realtimeObject.streams.handle

  // A preset plus plugins named by string.
  const mixed = await createServer({ preset: '@echostream/preset-minimal', plugins: ['@echostream/plugin-events'] })
  void mixed.events.on
  // @ts-expect-error not loaded
  void mixed.streams

  // The kernel's own createServer (plugins as objects) narrows the same way.
  const core = await createCoreServer({ plugins: [transportWs, codecMsgpack, events] })
  void core.events.on
  // @ts-expect-error no rpc here
  void core.rpc

  // Not known to the types: every plugin's API (the types never guess).
  const fromFile = await createServer('./echostream.config.ts')
  expectTypeOf(fromFile.streams).toEqualTypeOf<KernelApi['streams']>()
  const undeclared = definePlugin({ name: 'x', version: '1.0.0', kernel: '^1', setup() {} })
  const withUndeclared = await createServer({ plugins: [transportWs, undeclared] })
  void withUndeclared.streams
  const unknownName = await createServer({ plugins: ['some-third-party-plugin'] })
  void unknownName.events
  const found = await createServer()
  void found.rpc
}
