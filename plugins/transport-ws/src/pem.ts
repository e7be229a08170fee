import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { messageOf } from '@echostream/kernel'
import { transportErrors } from './errors.js'

/** TLS material is given inline (PEM text) or as a file path, resolved from the config's folder. */
export function readPem(value: string, baseDir: string): string {
  if (value.includes('-----BEGIN')) return value
  try {
    return readFileSync(resolve(baseDir, value), 'utf8')
  } catch (error) {
    throw Object.assign(transportErrors.unreadablePem(value, baseDir, messageOf(error)), { cause: error })
  }
}
