#!/usr/bin/env node
// Runs the TypeScript CLI in this process, from the workspace packages' sources (the `development`
// export condition, added by a resolve hook) through tsx, so the example needs no build step.
import { register } from 'node:module'

const development = `export async function resolve(specifier, context, next) {
  return next(specifier, context.conditions.includes('development') ? context : { ...context, conditions: [...context.conditions, 'development'] })
}`
register(`data:text/javascript,${encodeURIComponent(development)}`)
process.env.ECHOSTREAM_CONDITIONS ??= 'development'
const { register: registerTsx } = await import('tsx/esm/api')
registerTsx()
const { main } = await import('../src/cli.ts')
await main()
