/**
 * The files of a third-party plugin package (`create-echostream --plugin NAME`): path → content.
 * The plugin is one `definePlugin` object with a JSON schema, a hook tap, an exposed API typed by
 * module augmentation, and a dispose function; its test runs it in a real server (preset-minimal)
 * over a real socket.
 */
import { rangeOf, TOOL_VERSIONS } from '../versions.js'
import type { DependencySource } from '../dependencies.js'

export interface PluginOptions {
  /** npm package name, e.g. `echostream-plugin-audit` or `@acme/echostream-plugin-audit`. */
  name: string
  source: DependencySource
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`

/** The plugin's short name (its `name`, and its key under `options` in a config): `@acme/echostream-plugin-audit` → `audit`. */
export function pluginShortName(packageName: string): string {
  return packageName.replace(/^@[^/]+\//, '').replace(/^echostream-plugin-/, '') || packageName
}

/** The key of its API on the kernel: `my-plugin` → `myPlugin`. */
export function apiKey(shortName: string): string {
  const camel = shortName.replace(/[-_.]+([a-z0-9])/g, (_, c: string) => c.toUpperCase()).replace(/[^A-Za-z0-9_$]/g, '')
  return /^[0-9]/.test(camel) ? `_${camel}` : camel
}

function typeName(key: string): string {
  return key.charAt(0).toUpperCase() + key.slice(1)
}

export function pluginFiles({ name, source }: PluginOptions): Record<string, string> {
  const short = pluginShortName(name)
  const key = apiKey(short)
  const Type = typeName(key)
  const kernelRange = '^1'
  return {
    'package.json': json({
      name,
      version: '0.1.0',
      description: `An echostream plugin: ${short}`,
      type: 'module',
      license: 'MIT',
      keywords: ['echostream', 'echostream-plugin'],
      exports: {
        '.': { types: './dist/index.d.ts', default: './dist/index.js' },
        './package.json': './package.json',
      },
      files: ['dist/'],
      engines: { node: '>=20.10' },
      scripts: {
        build: 'tsc -p tsconfig.build.json',
        test: 'node --import tsx --test test/plugin.test.ts',
        typecheck: 'tsc --noEmit',
        prepack: 'npm run build',
      },
      peerDependencies: { '@echostream/kernel': kernelRange },
      devDependencies: {
        '@echostream/kernel': source.spec('@echostream/kernel', rangeOf('@echostream/kernel')),
        '@echostream/node': source.spec('@echostream/node', rangeOf('@echostream/node')),
        '@echostream/preset-minimal': source.spec('@echostream/preset-minimal', rangeOf('@echostream/preset-minimal')),
        '@types/node': source.spec('@types/node', TOOL_VERSIONS['@types/node']),
        tsx: source.spec('tsx', TOOL_VERSIONS.tsx),
        typescript: source.spec('typescript', TOOL_VERSIONS.typescript),
      },
      ...(Object.keys(source.overrides()).length ? { overrides: source.overrides() } : {}),
    }),
    '.gitignore': 'node_modules/\ndist/\n*.tgz\n',
    'tsconfig.json': json({
      compilerOptions: {
        target: 'ES2022',
        lib: ['ES2023'],
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        skipLibCheck: true,
        declaration: true,
        verbatimModuleSyntax: true,
        types: ['node'],
        noEmit: true,
      },
      include: ['src', 'test'],
    }),
    'tsconfig.build.json': json({
      extends: './tsconfig.json',
      compilerOptions: { noEmit: false, rootDir: 'src', outDir: 'dist' },
      include: ['src'],
    }),
    'src/index.ts': indexFile(short, key, Type, kernelRange),
    'test/plugin.test.ts': testFile(short, key),
    'README.md': readme(name, short, key),
  }
}

function indexFile(short: string, key: string, Type: string, kernelRange: string): string {
  return `/**
 * ${short}: an echostream plugin. It counts the sessions that pass the handshake (the \`connect\`
 * hook), greets each one in the log, and exposes what it knows as \`kernel.${key}\`.
 */
import { createRequire } from 'node:module'
import { definePlugin, Stage } from '@echostream/kernel'

const { version } = createRequire(import.meta.url)('../package.json') as { version: string }

/** One constant for every tap, so the kernel can tell this plugin's taps apart (and remove them on unload). */
const PLUGIN = '${short}'

export interface ${Type}Options {
  /** Prefix of the log line written for each new session. */
  greeting: string
  /** Write that log line at all. */
  log: boolean
}

export interface ${Type}Api {
  /** Sessions connected right now. */
  connections(): number
  /** Sessions connected since the server started. */
  total(): number
  /** The options in force (validated, defaults applied, frozen). */
  readonly options: Readonly<${Type}Options>
}

// Types \`server.${key}\` for every program that imports this package.
declare module '@echostream/kernel' {
  interface KernelApi {
    ${key}: ${Type}Api
  }
}

/** The JSON schema of the options: it is the README's options table; defaults live here. */
export const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    greeting: { type: 'string', minLength: 1, default: 'hello', description: 'Prefix of the log line for each new session.' },
    log: { type: 'boolean', default: true, description: 'Log each new session through the kernel logger.' },
  },
} as const

export default definePlugin<${Type}Options>({
  name: PLUGIN,
  version,
  // The kernel versions this plugin works with: checked when it loads. Keep it equal to the
  // peerDependencies range on @echostream/kernel in package.json.
  kernel: '${kernelRange}',
  provides: [PLUGIN],
  requires: ['transport'],
  schema,
  setup(kernel, options) {
    const open = new Set<string>()
    let total = 0

    // connect: a session passed the handshake (throwing here would refuse it).
    kernel.hooks.connect.tapPromise({ name: PLUGIN, stage: Stage.LATE }, async (session) => {
      open.add(session.id)
      total++
      if (options.log) kernel.logger.info(\`\${PLUGIN}: \${options.greeting}, session \${session.id} (\${session.peer})\`)
    })
    kernel.hooks.disconnect.tap({ name: PLUGIN, stage: Stage.LATE }, (session) => {
      open.delete(session.id)
    })

    kernel.expose('${key}', {
      connections: () => open.size,
      total: () => total,
      options,
    } satisfies ${Type}Api)

    // Dispose: runs on stop and on kernel.unload('${short}'). Release timers, sockets and files here;
    // the kernel itself removes the taps and the exposed API.
    return () => {
      open.clear()
    }
  },
})
`
}

function testFile(short: string, key: string): string {
  return `/**
 * The plugin in a real server (preset-minimal: WebSocket, MessagePack, RPC) with a real client
 * over a socket on a free port. Run: npm test
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { EchoError, type Logger } from '@echostream/kernel'
import { createClient, createServer } from '@echostream/node'
import plugin from '../src/index.js'

const root = fileURLToPath(new URL('..', import.meta.url))

function recordingLogger(lines: string[]): Logger {
  return { info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) }
}

async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(\`timed out waiting for \${what}\`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

test('loads with its options, runs its connect hook for a real client, and cleans up', async () => {
  const lines: string[] = []
  const server = await createServer(
    {
      preset: '@echostream/preset-minimal',
      plugins: [[plugin, { greeting: 'hi' }]],
      options: { 'transport-ws': { port: 0, host: '127.0.0.1' } },
    },
    { cwd: root, logger: recordingLogger(lines) },
  )
  try {
    assert.deepEqual(server.plugins().find((p) => p.name === '${short}')?.options, { greeting: 'hi', log: true })
    await server.start()
    const client = await createClient({ preset: '@echostream/preset-minimal', url: server.url }, { cwd: root })
    await client.start()
    try {
      await until(() => server.${key}.connections() === 1, 'the connect hook')
      assert.ok(lines.some((l) => l.startsWith(\`${short}: hi, session \${client.session?.id} (\`)), lines.join('\\n'))
    } finally {
      await client.stop()
    }
    await until(() => server.${key}.connections() === 0, 'the disconnect hook')
    assert.equal(server.${key}.total(), 1)
  } finally {
    await server.stop()
  }
})

test('refuses wrong options with E_CONFIG, naming the option', async () => {
  await assert.rejects(
    createServer({ preset: '@echostream/preset-minimal', plugins: [[plugin, { greeting: 42 }]] }, { cwd: root }),
    (error: unknown) => {
      assert.ok(EchoError.is(error))
      assert.equal(error.code, 'E_CONFIG')
      assert.match(error.message, /options\\['${short}'\\]\\.greeting/)
      return true
    },
  )
})
`
}

function readme(name: string, short: string, key: string): string {
  return `# ${name}

An [echostream](https://www.npmjs.com/package/@echostream/kernel) plugin. It counts the sessions
that pass the handshake and greets each one in the server log; \`server.${key}\` tells how many are
connected.

\`\`\`sh
npm install ${name}
\`\`\`

\`\`\`ts
// echostream.config.ts
import { defineConfig } from '@echostream/kernel'
export default defineConfig({
  preset: '@echostream/preset-default',
  plugins: [['${name}', { greeting: 'welcome' }]],
})
\`\`\`

\`\`\`ts
import type {} from '${name}' // types of server.${key}
server.${key}.connections() // sessions connected now
\`\`\`

## Options

| option | type | default | meaning |
| --- | --- | --- | --- |
| \`greeting\` | string, non-empty | \`"hello"\` | prefix of the log line for each new session |
| \`log\` | boolean | \`true\` | log each new session through the kernel logger |

A wrong option (an unknown key, a wrong type) stops the server before it binds a port with
\`E_CONFIG\`, naming \`options['${short}'].<option>\`.

## Developing

\`\`\`sh
npm install
npm test           # the plugin in a real server (preset-minimal) and a real client, over a socket
npm run typecheck
npm pack           # builds dist/ first (prepack), then packs ${name.replace(/^@/, '').replace(/\//g, '-')}-0.1.0.tgz
\`\`\`

- \`src/index.ts\` is the whole plugin: one \`definePlugin({ name, version, kernel, provides, requires, schema, setup })\`.
  \`setup\` taps kernel hooks with \`{ name: PLUGIN, stage }\` (order by \`Stage\`, never \`before\`),
  exposes its API with \`kernel.expose\` (typed by augmenting \`KernelApi\`), and returns a dispose
  function for whatever it holds.
- \`kernel: '^1'\` and \`peerDependencies['@echostream/kernel']\` say which kernels it works with;
  bump this package's major when its options or wire frames change incompatibly.
- The kernel README's "Writing a plugin" covers hooks, stages, capabilities, frames and unloading.
`
}
