/**
 * Type tests of the devtools API (checked by `pnpm test`'s typecheck): a kernel that loads the
 * plugin has `devtools`, snapshots are typed to their last field, the options take a token.
 */
import { expectTypeOf } from 'vitest'
import { createServer, type EchoKernel } from '@echostream/kernel'
import type { DevtoolsError, DevtoolsOptions, DevtoolsSnapshot, DevtoolsStream } from '../../src/index.js'
import devtools from '../../src/index.js'

// Never called: its body is only type-checked.
async function typeChecks(kernel: EchoKernel) {
  expectTypeOf(kernel.devtools.snapshot()).toEqualTypeOf<Promise<DevtoolsSnapshot>>()
  expectTypeOf(kernel.devtools.token).toEqualTypeOf<string>()
  expectTypeOf(kernel.devtools.pageUrl).toEqualTypeOf<string | undefined>()
  kernel.devtools.onUpdate((s) => {
    expectTypeOf(s.sessions[0]!.clock).toEqualTypeOf<{ offsetUs: number; rttUs: number; jitterUs: number; samples: number } | null>()
    expectTypeOf(s.streams[0]!.direction).toEqualTypeOf<DevtoolsStream['direction']>()
    expectTypeOf(s.errors[0]!.source).toEqualTypeOf<DevtoolsError['source']>()
    expectTypeOf(s.server.name).toEqualTypeOf<string | undefined>()
  })
  expectTypeOf<DevtoolsOptions['token']>().toEqualTypeOf<string | undefined>()
  // The plugin's API follows a config that lists it.
  const server = await createServer({ plugins: [[devtools, { token: 'x'.repeat(16) }]] })
  expectTypeOf(server.devtools.isDevtools).parameter(0).toHaveProperty('id')
  // @ts-expect-error isDevtools takes a session
  server.devtools.isDevtools('s1')
}
void typeChecks
