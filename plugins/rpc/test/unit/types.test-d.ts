/**
 * Type tests of the augmentable method maps and `typed<>()`: checked by `pnpm test`'s typecheck
 * (expectTypeOf and @ts-expect-error fail the type check; test/integration/rpc-type-tests.test.ts
 * proves that check can fail). Contracts inferred from handler modules: rpc-contract.test-d.ts.
 */
import { expectTypeOf } from 'vitest'
import type { EchoKernel, RpcContext, Session } from '@echostream/kernel'
import type { ParamsOf, RequestArgs, ResultOf, RpcApi } from '../../src/index.js'

interface MathApi {
  'math.add': (params: { a: number; b: number }) => number
  'math.slow': (params: { n: number }) => Promise<string>
  ping: () => 'pong'
  'maybe.params': (params?: { verbose: boolean }) => boolean
}

interface ClientApi {
  whoami: () => { name: string }
}

// Never called: its body is only type-checked.
function typeChecks(kernel: EchoKernel, session: Session) {
  const client = kernel.rpc.typed<MathApi, ClientApi>()
  expectTypeOf(client.request('math.add', { a: 1, b: 2 })).toEqualTypeOf<Promise<number>>()
  expectTypeOf(client.request('math.slow', { n: 1 }, { timeoutMs: 10 })).toEqualTypeOf<Promise<string>>() // promise results are awaited
  expectTypeOf(client.request('ping')).toEqualTypeOf<Promise<'pong'>>()
  expectTypeOf(client.request('maybe.params')).toEqualTypeOf<Promise<boolean>>()
  // @ts-expect-error params of the wrong type
  void client.request('math.add', { a: '1', b: 2 })
  // @ts-expect-error params missing
  void client.request('math.add')
  // @ts-expect-error an unknown option
  void client.request('math.add', { a: 1, b: 2 }, { timeout: 5 })
  // names the contract does not declare still work, untyped
  expectTypeOf(client.request('anything.else', { whatever: true })).toEqualTypeOf<Promise<unknown>>()
  expectTypeOf(client.request('no.params')).toEqualTypeOf<Promise<unknown>>()

  client.handle('whoami', (params, ctx) => {
    expectTypeOf(params).toEqualTypeOf<undefined>()
    expectTypeOf(ctx).toEqualTypeOf<RpcContext>()
    expectTypeOf(ctx.signal).toEqualTypeOf<AbortSignal>()
    return { name: 'ada' }
  })
  // @ts-expect-error the handler must return the declared result
  client.handle('whoami', () => 42)
  client.handle('untyped', (params: { x: number }) => params.x)

  const server = kernel.rpc.typed<ClientApi, MathApi>()
  server.handle('math.add', ({ a, b }) => a + b)
  server.handle('math.slow', async ({ n }, { signal }) => (signal.aborted ? '' : String(n)))
  // @ts-expect-error a is a number
  server.handle('math.add', ({ a }) => a.toUpperCase())
  expectTypeOf(server.requestTo(session, 'whoami')).toEqualTypeOf<Promise<{ name: string }>>()

  // The untyped default API: any method, params unknown, result unknown.
  expectTypeOf(kernel.rpc.request('x', 1)).toEqualTypeOf<Promise<unknown>>()
  expectTypeOf(session.request('x')).toEqualTypeOf<Promise<unknown>>()
  const off = kernel.rpc.handle('x', (params) => params)
  expectTypeOf(off).toEqualTypeOf<() => void>()

  expectTypeOf<ParamsOf<MathApi['math.add']>>().toEqualTypeOf<{ a: number; b: number }>()
  expectTypeOf<ResultOf<MathApi['math.slow']>>().toEqualTypeOf<string>()
  expectTypeOf<RequestArgs<MathApi, 'ping'>>().toEqualTypeOf<[params?: undefined, options?: import('../../src/index.js').RequestOptions]>()
  expectTypeOf<RpcApi<MathApi>['typed']>().toBeFunction()
}

void typeChecks
