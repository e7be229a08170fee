/**
 * Type tests of the custom TXT properties (checked by `pnpm test`'s typecheck): the option, the
 * server API and what a browser reads are string → string maps.
 */
import { expectTypeOf } from 'vitest'
import type { EchoKernel } from '@echostream/kernel'
import type { Advertisement, DiscoveredService, DiscoveryOptions } from '../../src/index.js'
import '../../src/index.js'

// Never called: its body is only type-checked.
function typeChecks(kernel: EchoKernel, service: DiscoveredService, advertisement: Advertisement) {
  expectTypeOf(kernel.discovery.setProperties).parameter(0).toEqualTypeOf<Record<string, string>>()
  expectTypeOf(kernel.discovery.setProperties({ caps: 'recognise', slots: '4' })).toEqualTypeOf<void>()
  // @ts-expect-error values are strings: put numbers in strings ('4')
  kernel.discovery.setProperties({ slots: 4 })
  expectTypeOf(kernel.discovery.properties).toEqualTypeOf<Readonly<Record<string, string>>>()
  expectTypeOf(service.txt.properties).toEqualTypeOf<Record<string, string>>()
  expectTypeOf(advertisement.properties).toEqualTypeOf<Readonly<Record<string, string>>>()
  expectTypeOf<DiscoveryOptions['properties']>().toEqualTypeOf<Record<string, string> | undefined>()
}
void typeChecks
