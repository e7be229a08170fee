/**
 * One delivered event on the receiving side, without sockets (call-instructions.mjs `--receive`):
 * what a fan-out client does per event once ws has parsed a message, the row the fan-out figure is
 * bound by (16 clients decoding every event on one core).
 *   echostream  connection.onMessage(bytes): the kernel's pipeline, codec-msgpack (checked decode),
 *               route lookup, the events plugin's dispatch, the listener
 *   limit       msgpackr `unpack(bytes)`, a Map lookup of the event name, the listener
 * Each message is a fresh Buffer over a shared 64 KiB block, as ws hands them out (a FastBuffer
 * over the read), so msgpackr's per-source DataView is paid as in a real client. Spec in BENCH_SPEC:
 * { only: 'echostream' | 'limit', count }.
 */
import { createKernel, definePlugin, PROTOCOL_VERSION } from '@echostream/kernel'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import events from '@echostream/plugin-events'
import rpc from '@echostream/plugin-rpc'
import { Packr } from 'msgpackr'

const { only, count } = JSON.parse(process.env.BENCH_SPEC)
let handled = 0

/** `message` copied 2,048 times into one block; `at(i)` is a new Buffer over copy i mod 2,048. */
function messages(message) {
  const block = Buffer.alloc(2048 * 32)
  for (let i = 0; i < 2048; i++) block.set(message, i * 32)
  // Buffer#slice: a view (FastBuffer), as ws's; subarray goes through the species constructor.
  return (i) => block.slice((i & 2047) * 32, (i & 2047) * 32 + message.length)
}

async function echostream() {
  const connection = { peer: 'memory:0', bufferedAmount: 0, highWaterMark: 1 << 20, whenWritable: () => Promise.resolve(), send() {}, close() {}, onMessage() {}, onClose() {} }
  let accept
  const memory = definePlugin({
    name: 'bench-memory',
    version: '1.0.0',
    kernel: '^1',
    provides: ['transport'],
    setup(kernel) {
      kernel.provide('transport', { name: 'memory', listen: async (onConnection) => ((accept = onConnection), 'memory://bench'), close: async () => {}, connect: async () => { throw new Error('server only') } })
    },
  })
  // The preset's call and event plugins: the route table a real peer has.
  const kernel = await createKernel({ role: 'server', plugins: [memory, codecMsgpack, rpc, events] })
  kernel.events.on('tick', () => handled++)
  await kernel.start()
  accept(connection)
  const codec = kernel.codec
  connection.onMessage(codec.encode({ kind: 'hello', payload: { protocol: PROTOCOL_VERSION, codec: 'msgpack', plugins: kernel.wirePlugins(), limits: { maxPayload: 1 << 20 } } }), 0)
  for (let i = 0; i < 100 && kernel.sessions().length === 0; i++) await new Promise((resolve) => setImmediate(resolve))
  if (kernel.sessions().length === 0) throw new Error('receive-path: the in-memory session did not open')
  const at = messages(codec.encode({ kind: 'events.emit', name: 'tick', payload: { n: 12_345 } }))
  return (i) => connection.onMessage(at(i), 0)
}

function limit() {
  const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true, encodeUndefinedAsNil: true })
  const listeners = new Map([['tick', () => handled++]])
  const at = messages(packr.pack([0, 'tick', { n: 12_345 }]))
  return (i) => {
    const message = packr.unpack(at(i))
    const listener = listeners.get(message[1])
    if (listener) listener(message[2])
  }
}

const deliver = only === 'echostream' ? await echostream() : limit()
for (let i = 0; i < count; i++) deliver(i)
if (handled !== count) throw new Error(`receive-path: ${handled} of ${count} events delivered`)
process.exit(0)
