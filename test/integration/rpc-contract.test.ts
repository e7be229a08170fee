/**
 * An inferred contract at work over a real WebSocket: the server loads a handler module (plain
 * defineRpc exports, a defineRouter with schemas, defineEvent); the client is typed by
 * `RpcContractOf<typeof module>` alone and calls unary, streaming, input-streaming and
 * bidirectional methods with the types the module implies (rpc-contract.test-d.ts checks them).
 */
import { describe, expect, expectTypeOf, it } from 'vitest'
import { createClient, createServer } from '@echostream/kernel'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import rpc, { defineRouter, type RpcContractOf } from '@echostream/plugin-rpc'
import events from '@echostream/plugin-events'
import * as serverHandlers from '../fixtures/rpc-contract/server-handlers.js'
import { track } from '../helpers/fixtures.js'
import { rejection } from '../helpers/wire.js'

const plugins = [transportWs, codecMsgpack, rpc, events]

describe('a contract inferred from a handler module', () => {
  it('serves the module and calls it with its inferred types: unary, streaming, input and bidirectional', async () => {
    const server = track(await createServer({ plugins, handlers: [serverHandlers] }))
    await server.start()
    expect(server.rpc.methods().filter((m) => m.startsWith('ct.')).sort()).toEqual(
      ['ct.double', 'ct.legacy', 'ct.llm.complete', 'ct.math.add', 'ct.math.slowly', 'ct.ping', 'ct.upload', 'ct.users.get', 'ct.users.watch'].sort(),
    )
    const client = track(await createClient({ url: server.url, plugins }))
    await client.start()
    const api = client.rpc.typed<RpcContractOf<typeof serverHandlers>>()

    const sum = await api.request('ct.math.add', { a: 2, b: 3 })
    expectTypeOf(sum).toEqualTypeOf<number>()
    expect(sum).toBe(5)
    expect(await api.request('ct.users.get', 'u7')).toEqual({ id: 'u7', name: 'ada' })

    const stream = api.stream('ct.llm.complete', { prompt: 'to be or not' })
    const words: string[] = []
    for await (const word of stream) words.push(word)
    expect(words).toEqual(['to', 'be', 'or', 'not'])
    expect(await stream.result).toEqual({ tokens: 12, finish: 'stop' })

    async function* chunks() {
      yield new Uint8Array(3)
      yield new Uint8Array(4)
    }
    expect(await api.request('ct.upload', chunks())).toBe(7)
    async function* numbers() {
      yield 1
      yield 2
    }
    const doubled: number[] = []
    for await (const n of api.stream('ct.double', numbers())) doubled.push(n)
    expect(doubled).toEqual([2, 4])

    // The router entry's schema is in force: 'ct.users.watch' takes a string.
    expect((await rejection(api.request('ct.users.watch', 42 as unknown as string))).code).toBe('E_INVALID_PARAMS')
  })

  it('defineRouter refuses an entry that is not a handler', () => {
    expect(() => defineRouter({ bad: 42 as never })).toThrow(/'bad' must be a handler function or \{ handler/)
  })
})
