import { describe, expect, it } from 'vitest'
import { createKernel, type EchoError } from '@echostream/kernel'
import { importModule, validateOptions } from '@echostream/node'
import auth, { schema, type AuthOptions } from '../../src/index.js'

const valid = (input: unknown) => validateOptions<AuthOptions>(schema, input, "plugin 'auth'", "options['auth']")

async function setupError(options: Record<string, unknown>, role: 'server' | 'client' = 'server'): Promise<EchoError> {
  try {
    const kernel = await createKernel({ role, plugins: [[{ ...auth, requires: [] }, options]], importModule })
    await kernel.stop()
  } catch (error) {
    return error as EchoError
  }
  throw new Error('expected setup to fail')
}

describe('options', () => {
  it('fills defaults from the schema, the nested throttle included', () => {
    const options = valid({})
    expect(options.required).toBe(true)
    expect(options.authenticateTimeoutMs).toBe(10_000)
    expect(options.throttle).toEqual({ enabled: true, baseDelayMs: 100, maxDelayMs: 3000, maxFailures: 10, windowMs: 300_000, banMs: 300_000, maxTracked: 10_000 })
    expect(valid({ rules: { roles: { a: ['*'] } } }).rules).toEqual({ roles: { a: ['*'] }, roleOf: 'role' })
  })

  it('keeps functions and any credentials value', () => {
    const authenticate = () => true
    expect(valid({ authenticate, credentials: { user: 'u', password: 'p' } }).authenticate).toBe(authenticate)
    expect(valid({ credentials: 'token' }).credentials).toBe('token')
  })

  it('refuses unknown options and bad rule patterns', () => {
    expect(() => valid({ token: 'x' })).toThrow(/unknown option 'options\['auth'\]\.token'/)
    expect(() => valid({ throttle: { maxDelay: 1 } })).toThrow(/unknown option/)
    expect(() => valid({ rules: { roles: { user: ['math.add'] } } })).toThrow(/rules\.roles\.user/)
    expect(() => valid({ rules: {} })).toThrow(/roles' is required/)
  })

  it('checks function-valued options in setup with E_CONFIG', async () => {
    const error = await setupError({ authenticate: 'not a function' })
    expect(error.code).toBe('E_CONFIG')
    expect(error.message).toMatch(/authenticate must be a function .*got the string .*options\.auth\.module/)
    expect((await setupError({ authenticate: () => true, authorize: 42 })).message).toMatch(/authorize must be a function/)
  })

  it('reports a module that cannot be loaded', async () => {
    const error = await setupError({ module: './no/such/auth-module.js' })
    expect(error.code).toBe('E_CONFIG')
    expect(error.message).toMatch(/options\.auth\.module '\.\/no\/such\/auth-module\.js' cannot be loaded: Cannot resolve module/)
  })
})
