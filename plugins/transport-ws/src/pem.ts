import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { EchoError, ErrorCodes } from '@echostream/kernel'

/** TLS material is given inline (PEM text) or as a file path, resolved from the config's folder. */
export function readPem(value: string, baseDir: string): string {
  if (value.includes('-----BEGIN')) return value
  try {
    return readFileSync(resolve(baseDir, value), 'utf8')
  } catch (error) {
    throw new EchoError(ErrorCodes.E_CONFIG, `Cannot read TLS file '${value}' (from ${baseDir}): ${(error as Error).message}. Give PEM text or a readable path.`, { cause: error })
  }
}
