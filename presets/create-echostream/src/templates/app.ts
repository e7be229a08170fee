/**
 * The files of a new app: path → content. Kept as code rather than template files so that the
 * workspace's own TypeScript and test runners never mistake a template for one of their sources.
 */
import { PRESETS, type PresetName } from '../presets.js'
import { rangeOf, TOOL_VERSIONS } from '../versions.js'
import type { DependencySource } from '../dependencies.js'

export interface AppOptions {
  /** npm package name of the app. */
  name: string
  preset: PresetName
  source: DependencySource
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`

/** The service name the lan preset advertises: the app name without scope, at most 40 characters. */
const serviceName = (name: string) => name.replace(/^@[^/]+\//, '').slice(0, 40)

export function appFiles({ name, preset, source }: AppOptions): Record<string, string> {
  const info = PRESETS[preset]
  const pkgName = info.package
  const dependencies: Record<string, string> = {
    '@echostream/kernel': source.spec('@echostream/kernel', rangeOf('@echostream/kernel')),
    '@echostream/node': source.spec('@echostream/node', rangeOf('@echostream/node')),
    [pkgName]: source.spec(pkgName, rangeOf(pkgName)),
    tsx: source.spec('tsx', TOOL_VERSIONS.tsx),
  }
  const devDependencies: Record<string, string> = {
    '@types/node': source.spec('@types/node', TOOL_VERSIONS['@types/node']),
    typescript: source.spec('typescript', TOOL_VERSIONS.typescript),
  }
  const overrides = source.overrides()

  const files: Record<string, string> = {
    'package.json': json({
      name,
      version: '0.1.0',
      private: true,
      type: 'module',
      scripts: {
        start: 'echostream start',
        client: 'tsx client.ts',
        test: 'node --import tsx --test test/app.test.ts',
        typecheck: 'tsc --noEmit',
      },
      engines: { node: '>=20.10' },
      dependencies,
      devDependencies,
      ...(Object.keys(overrides).length ? { overrides } : {}),
    }),
    '.gitignore': 'node_modules/\n',
    'tsconfig.json': json({
      compilerOptions: {
        target: 'ES2022',
        lib: ['ES2023'],
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        skipLibCheck: true,
        noEmit: true,
        verbatimModuleSyntax: true,
        types: ['node'],
      },
      include: ['*.ts', 'handlers', 'test'],
    }),
    'echostream.config.ts': configFile(name, preset),
    'handlers/greet.ts': GREET,
    'client.ts': clientFile(name, preset),
    'test/app.test.ts': testFile(name, preset),
    'README.md': readme(name, preset),
  }
  if (info.events) files['handlers/chat.ts'] = chatHandler(pkgName)
  if (info.streams) files['handlers/meter.ts'] = meterHandler(pkgName)
  return files
}

function handlerList(preset: PresetName): string[] {
  const info = PRESETS[preset]
  return ['./handlers/greet.ts', ...(info.events ? ['./handlers/chat.ts'] : []), ...(info.streams ? ['./handlers/meter.ts'] : [])]
}

function configFile(name: string, preset: PresetName): string {
  const info = PRESETS[preset]
  const options = info.discovery
    ? `    // ECHOSTREAM_HOST=127.0.0.1 keeps the server on this machine; the preset listens on every interface.
    'transport-ws': { port: '\${PORT:-5000}', host: '\${ECHOSTREAM_HOST:-0.0.0.0}' },
    // On a real network this multicasts mDNS on every IPv4 interface (ECHOSTREAM_MDNS_INTERFACE=all).
    // ECHOSTREAM_MDNS_INTERFACE=192.168.1.20 limits it to one network card; 127.0.0.1 to this machine.
    'discovery-mdns': { name: '${serviceName(name)}', interface: '\${ECHOSTREAM_MDNS_INTERFACE:-all}', mdnsPort: '\${ECHOSTREAM_MDNS_PORT:-5353}' },`
    : `    // PORT=8080 npm start picks another port; the tests use PORT=0 (any free port).
    'transport-ws': { port: '\${PORT:-5000}' },`
  return `import { defineConfig } from '@echostream/kernel'

// \`npm start\` runs \`echostream start\`, which finds this file, assembles the server from the
// preset and the options below, loads the handler modules and serves until Ctrl-C / SIGTERM.
export default defineConfig({
  preset: '${info.package}',
  options: {
${options}
  },
  handlers: [${handlerList(preset)
    .map((h) => `'${h}'`)
    .join(', ')}],
})
`
}

const GREET = `import { defineRpc } from '@echostream/kernel'

/**
 * \`greet\`: an RPC method. Its params are checked against the schema before the handler runs; a
 * caller that sends anything else gets E_INVALID_PARAMS.
 */
export const greet = defineRpc<{ name: string }, string>('greet', ({ name }) => \`Hello, \${name}!\`, {
  schema: {
    type: 'object',
    required: ['name'],
    additionalProperties: false,
    properties: { name: { type: 'string', minLength: 1, maxLength: 100 } },
  },
})
`

function chatHandler(pkgName: string): string {
  return `import { defineEvent } from '@echostream/kernel'
import type {} from '${pkgName}' // types of session.kernel.events

/** \`chat.say\`: an event from a client. The server passes it on to everyone as \`chat.message\`. */
export const say = defineEvent<{ text: string }>('chat.say', ({ text }, session) => {
  session.kernel.events.broadcast('chat.message', { from: session.id, text })
})
`
}

function meterHandler(pkgName: string): string {
  return `import { defineStream } from '${pkgName}'

/**
 * \`meter\`: a stream handler. A client streams chunks of 8-bit audio; for each frame the server
 * answers with its peak level and how long it took to arrive, measured on the clock both sides
 * share (clock sync). A stream is flow-controlled: a fast sender waits for credit instead of
 * filling this server's memory. For playback at a steady delay, read \`stream.playout()\` (the jitter
 * buffer) instead of the stream itself.
 */
export const meter = defineStream<Uint8Array>('meter', async (stream, { session }) => {
  for await (const frame of stream) {
    let peak = 0
    for (const sample of frame.data) peak = Math.max(peak, Math.abs(sample - 128))
    const ageMs = (session.kernel.clock.now() - frame.wallTime) / 1000
    session.emit('meter.level', { seq: frame.seq, peak, ageMs })
  }
})
`
}

function clientFile(name: string, preset: PresetName): string {
  const info = PRESETS[preset]
  const urlLine = info.discovery
    ? `// No URL: the client finds the server on the network by mDNS (the preset's discovery plugin).
const url = process.argv[2] ?? process.env.ECHOSTREAM_URL`
    : `const url = process.argv[2] ?? process.env.ECHOSTREAM_URL ?? \`ws://127.0.0.1:\${process.env.PORT ?? 5000}\``
  const clientOptions = info.discovery
    ? `{
    preset: '${info.package}',
    url,
    options: { 'discovery-mdns': { service: '${serviceName(name)}', interface: '\${ECHOSTREAM_MDNS_INTERFACE:-all}', mdnsPort: '\${ECHOSTREAM_MDNS_PORT:-5353}' } },
  }`
    : `{ preset: '${info.package}', url }`
  const events = info.events
    ? `
const heard = new Promise((resolve) => client.events.once('chat.message', resolve))
client.events.emit('chat.say', { text: 'hello from the client' })
console.log('chat.message:', await heard)
`
    : ''
  const streams = info.streams
    ? `
// Streams: wait for the clock to sync, then stream five chunks of "audio" and read the levels back.
await client.clock.whenSynced()
const levels: unknown[] = []
const allLevels = new Promise<void>((resolve) => {
  client.events.on('meter.level', (level) => {
    levels.push(level)
    if (levels.length === 5) resolve()
  })
})
const writer = await client.streams.open<Uint8Array>('meter')
for (let i = 1; i <= 5; i++) await writer.write(new Uint8Array(160).fill(128 + i * 20))
await writer.end()
await allLevels
console.log('meter.level:', levels)
`
    : ''
  return `/**
 * Talks to the server: \`npm start\` in one terminal, \`npm run client\` in another
 * (or \`npx tsx client.ts ws://HOST:PORT\`). A failure prints one line (code and message) and
 * exits 1; set ECHOSTREAM_DEBUG=1 for the whole error.
 */
import { fileURLToPath } from 'node:url'
import { createClient, EchoError } from '@echostream/node'
import type {} from '${info.package}' // types of client.rpc${info.events ? ', client.events' : ''}${info.streams ? ', client.streams, client.clock' : ''}

${urlLine}

async function main(): Promise<void> {
  const client = await createClient(
    ${clientOptions.replace(/\n/g, '\n  ')},
    { cwd: fileURLToPath(new URL('.', import.meta.url)) },
  )
  try {
    await client.start()
    console.log(\`connected to \${client.url} as session \${client.session?.id}\`)

    console.log(await client.rpc.request('greet', { name: 'echostream' }, { timeoutMs: 5000 }))
${indent(events + streams, '    ')}  } finally {
    await client.stop().catch(() => {})
  }
}

main().catch((error: unknown) => {
  const e = EchoError.from(error)
  console.error(\`\${e.code}: \${e.message}\${e.code === 'E_CLOSED' ? ' (is the server running? npm start)' : ''}\`)
  if (process.env.ECHOSTREAM_DEBUG) console.error(error)
  process.exitCode = 1
})
`
}

/** Indents a block of statements (blank lines stay blank). */
function indent(block: string, by: string): string {
  return block
    .split('\n')
    .map((line) => (line ? `${by}${line}` : line))
    .join('\n')
}

function testFile(name: string, preset: PresetName): string {
  const info = PRESETS[preset]
  const env = info.discovery
    ? `// A free port, and mDNS only on this machine (on a port of its own) so a test never multicasts on
// your network or meets a real responder.
process.env.PORT = '0'
process.env.ECHOSTREAM_HOST = '127.0.0.1'
process.env.ECHOSTREAM_MDNS_INTERFACE = '127.0.0.1'
process.env.ECHOSTREAM_MDNS_PORT = '5354'`
    : `process.env.PORT = '0' // any free port, through \`\${PORT:-5000}\` in the config`
  const clientConfig = info.discovery
    ? `{
      preset: '${info.package}',
      // No url: the client discovers the server by mDNS (on loopback, see above).
      options: { 'discovery-mdns': { service: '${serviceName(name)}', interface: '127.0.0.1', mdnsPort: 5354, timeoutMs: 5000 } },
    }`
    : `{ preset: '${info.package}', url: server.url }`
  const events = info.events
    ? `
test('chat.say reaches everyone as chat.message', async () => {
  const heard = new Promise((resolve) => client.events.once('chat.message', resolve))
  client.events.emit('chat.say', { text: 'hi' })
  assert.deepEqual(await heard, { from: client.session?.id, text: 'hi' })
})
`
    : ''
  const streams = info.streams
    ? `
test('the meter stream answers every frame, timed on the synced clock', async () => {
  await client.clock.whenSynced()
  const levels: Array<{ seq: number; peak: number; ageMs: number }> = []
  const done = new Promise<void>((resolve) => {
    client.events.on('meter.level', (level) => {
      levels.push(level)
      if (levels.length === 3) resolve()
    })
  })
  const writer = await client.streams.open<Uint8Array>('meter')
  for (const value of [138, 158, 178]) await writer.write(new Uint8Array(160).fill(value))
  await writer.end()
  await done
  assert.deepEqual(levels.map((l) => [l.seq, l.peak]), [[0, 10], [1, 30], [2, 50]])
  // On one machine a frame arrives within a millisecond or so; the synced clock is an estimate, so
  // the age can come out a little below zero.
  for (const level of levels) assert.ok(Math.abs(level.ageMs) < 1000, \`age \${level.ageMs} ms\`)
})
`
    : ''
  return `/**
 * Starts the server from echostream.config.ts and talks to it over a real socket, as a client
 * would. Run: npm test
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { createClient, createServer, type EchoClient, type EchoServer } from '@echostream/node'
import type {} from '${info.package}'

const root = fileURLToPath(new URL('..', import.meta.url))
${env}

let server: EchoServer
let client: EchoClient

before(async () => {
  server = await createServer(join(root, 'echostream.config.ts'))
  await server.start()
  client = await createClient(
    ${clientConfig},
    { cwd: root },
  )
  await client.start()
})

after(async () => {
  await client?.stop()
  await server?.stop()
})

test('greet answers over a real socket', async () => {
  assert.equal(await client.rpc.request('greet', { name: 'test' }), 'Hello, test!')
})

test('greet refuses params that do not match its schema', async () => {
  await assert.rejects(client.rpc.request('greet', { name: 42 }), { code: 'E_INVALID_PARAMS' })
})
${events}${streams}`
}

function readme(name: string, preset: PresetName): string {
  const info = PRESETS[preset]
  const rows = [
    ['`echostream.config.ts`', 'the server: preset, options (`${PORT:-5000}` reads the environment), handler modules'],
    ['`handlers/greet.ts`', 'an RPC method, `greet`, with a params schema'],
    ...(info.events ? [['`handlers/chat.ts`', 'an event handler: `chat.say` from a client is broadcast as `chat.message`']] : []),
    ...(info.streams ? [['`handlers/meter.ts`', 'a stream handler: `meter` reads frames and answers each with a `meter.level` event']] : []),
    ['`client.ts`', `a client that ${info.discovery ? 'finds the server by mDNS, ' : ''}calls \`greet\`${info.events ? ', sends `chat.say`' : ''}${info.streams ? ' and streams to `meter`' : ''}`],
    ['`test/app.test.ts`', 'starts the server from the config on a free port and talks to it over a real socket (`node:test`)'],
  ]
  const env = info.discovery
    ? `| variable | default | meaning |
| --- | --- | --- |
| \`PORT\` | \`5000\` | port to listen on (\`0\` = any free port; clients find it through mDNS anyway) |
| \`ECHOSTREAM_HOST\` | \`0.0.0.0\` | interface to listen on; \`127.0.0.1\` keeps the server on this machine |
| \`ECHOSTREAM_MDNS_INTERFACE\` | \`all\` | where mDNS advertises and browses: \`all\` multicasts on **every IPv4 interface** of the machine; give one address (e.g. \`192.168.1.20\`) to stay on one network, \`127.0.0.1\` for this machine only |
| \`ECHOSTREAM_MDNS_PORT\` | \`5353\` | mDNS UDP port; the tests use \`5354\` so they never meet a real responder |

**On a real network, \`npm start\` and \`npm run client\` multicast mDNS packets** (that is how
the client finds the server: it needs no URL). \`npm test\` never does: it keeps mDNS on
127.0.0.1, port 5354.`
    : `| variable | default | meaning |
| --- | --- | --- |
| \`PORT\` | \`5000\` | port to listen on (\`0\` = any free port) |`
  return `# ${name}

An [echostream](https://www.npmjs.com/package/@echostream/kernel) app on \`${info.package}\`
(${info.summary}).

\`\`\`sh
npm install
npm start              # serves ws://${info.discovery ? '0.0.0.0' : '127.0.0.1'}:5000 until Ctrl-C
npm run client         # in another terminal: calls the server${info.discovery ? ' it finds by mDNS' : ''}
npm test               # starts the server on a free port and checks it over a real socket
npm run typecheck      # tsc --noEmit
\`\`\`

${preset === 'default' ? `Call a method from the command line: \`npx echostream call greet '{"name":"Ada"}' --url ws://127.0.0.1:5000\`.

` : ''}## What is here

| file | what |
| --- | --- |
${rows.map(([f, w]) => `| ${f} | ${w} |`).join('\n')}

Add a method: export another \`defineRpc(...)\` from a handler module (and list new modules under
\`handlers\` in the config). \`npx echostream inspect\` prints the plugins in setup order with
their options; \`npx echostream start --print-config\` prints the resolved config.

## Environment

${env}

\`echostream start\` stops cleanly on SIGTERM: it stops accepting connections, lets in-flight
requests finish (up to \`--drain-timeout\`, 10 s by default), then exits 0.
`
}
