/**
 * Type tests: a plugin's options type is derived from its JSON schema (`OptionsOf<typeof schema>`),
 * so the schema, the README table (test/integration/options-tables.test.ts) and the type agree.
 * Checked by `pnpm test`'s typecheck; each `@ts-expect-error` fails the build if its line compiles.
 */
import { definePlugin, type OptionsOf } from '@echostream/kernel'

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    windowBytes: { type: 'integer', minimum: 1, default: 65536 },
    mode: { enum: ['fast', 'safe'], default: 'safe' },
    label: { type: 'string' },
    tls: { type: 'object', additionalProperties: false, properties: { cert: { type: 'string' }, verify: { type: 'boolean', default: true } } },
  },
} as const

type Options = OptionsOf<typeof schema>

// A property with a default is present after validation; one without is optional; enums are unions.
export const full: Options = { windowBytes: 1, mode: 'fast', label: 'x', tls: { cert: 'c', verify: false } }
export const minimal: Options = { windowBytes: 1, mode: 'safe' }
// @ts-expect-error a defaulted property is always there once validated
export const missing: Options = { mode: 'safe' }
// @ts-expect-error not a member of the enum
export const badEnum: Options = { windowBytes: 1, mode: 'quick' }
// @ts-expect-error additionalProperties: false
export const unknown: Options = { windowBytes: 1, mode: 'safe', extra: 1 }
// @ts-expect-error an integer option is a number
export const badType: Options = { windowBytes: '1', mode: 'safe' }

// setup receives the derived type.
export const plugin = definePlugin<Options>({
  name: 'typed',
  version: '1.0.0',
  kernel: '^1',
  schema,
  setup(_kernel, options) {
    const window: number = options.windowBytes
    const mode: 'fast' | 'safe' = options.mode
    const label: string | undefined = options.label
    // @ts-expect-error optional without a default: may be undefined
    const certain: string = options.label
    void [window, mode, label, certain]
  },
})
