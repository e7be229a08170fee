/**
 * The client half of the example: RPC to the server, an RPC the server calls back, and events.
 * Usage: tsx client.ts ws://127.0.0.1:PORT   (or set ECHOSTREAM_URL)
 */
import { createClient, EchoError } from '@echostream/node'
import type {} from '@echostream/preset-default'

const url = process.argv[2] ?? process.env.ECHOSTREAM_URL
if (!url) {
  console.error('usage: tsx client.ts ws://127.0.0.1:PORT')
  process.exit(2)
}

const client = await createClient({ preset: '@echostream/preset-default', url })
// The server calls this during chat.join (server → client RPC).
client.rpc.handle('client.whoami', () => ({ name: 'ada' }))
const joined = new Promise<unknown>((resolve) => client.events.once('chat.joined', resolve))
const heard = new Promise<unknown>((resolve) => client.events.once('chat.message', resolve))

await client.start()
console.log(`connected as session ${client.session?.id}`)

const sum = await client.rpc.request('math.add', { a: 2, b: 3 })
console.log(`math.add(2, 3) = ${sum}`)

try {
  await client.rpc.request('math.divide', { a: 1, b: 0 })
} catch (error) {
  console.log(`math.divide(1, 0) failed as expected: ${(error as EchoError).code}`)
}

try {
  await client.rpc.request('math.add', { a: 'two', b: 3 })
} catch (error) {
  console.log(`math.add('two', 3) rejected: ${(error as EchoError).code}`)
}

try {
  await client.rpc.request('math.countTo', { n: 1000 }, { timeoutMs: 100 })
} catch (error) {
  console.log(`math.countTo(1000) with a 100 ms deadline: ${(error as EchoError).code}`)
}

client.events.emit('chat.join', { room: 'lobby' })
console.log(`server event chat.joined: ${JSON.stringify(await joined)}`)
client.events.emit('chat.say', { room: 'lobby', text: 'hello, echostream' })
console.log(`server event chat.message: ${JSON.stringify(await heard)}`)

await client.stop()
console.log('client done')
