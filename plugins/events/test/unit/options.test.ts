import { describe, expect, it } from 'vitest'
import { validateOptions } from '@echostream/node'
import events, { schema, EventFrames, EVENTS_WIRE_VERSION } from '../../src/index.js'
import { createRequire } from 'node:module'

const pkg = createRequire(import.meta.url)('../../package.json') as { version: string }

describe('events plugin definition', () => {
  it('declares its metadata', () => {
    expect(events).toMatchObject({ name: 'events', version: pkg.version, kernel: '^1', provides: ['events'], requires: ['transport', 'codec'], wire: 1 })
    expect(EVENTS_WIRE_VERSION).toBe(1)
    expect(EventFrames.emit).toBe('events.emit')
  })

  it('fills defaults and refuses unknown or invalid options', () => {
    expect(validateOptions(schema, undefined, "plugin 'events'", "options['events']")).toEqual({ maxListeners: 10, maxNameLength: 256 })
    expect(validateOptions(schema, { maxListeners: 0 }, "plugin 'events'", "options['events']")).toEqual({ maxListeners: 0, maxNameLength: 256 })
    expect(() => validateOptions(schema, { maxListener: 5 }, "plugin 'events'", "options['events']")).toThrow(/unknown option.*maxListener/)
    expect(() => validateOptions(schema, { maxNameLength: 0 }, "plugin 'events'", "options['events']")).toThrow(/maxNameLength/)
  })
})
