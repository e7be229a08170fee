/**
 * Custom TXT properties (`properties` option, `discovery.setProperties()`): the application's own
 * `key=value` strings beside the plugin's, as DNS-SD's `ServiceInfo.with_property` offers. The rules
 * are RFC 6763 §6 made strict enough that every record we send is read back the same way by
 * bonjour-service and by other DNS-SD stacks:
 * - a key is 1–63 printable US-ASCII characters without `=` and without space (§6.4 allows space;
 *   several stacks trim it); keys compare case-insensitively (§6.4), so two keys differing only
 *   in case are refused, and so is a key the plugin uses itself (`RESERVED_KEYS`);
 * - a value is a non-empty string (bonjour-service reads `key=` back as no value); its UTF-8
 *   bytes count;
 * - each `key=value` string is at most 255 bytes (one length byte, §6.1);
 * - the whole record, the plugin's own strings included, is at most 1,300 bytes (§6.2: larger
 *   records may not fit one Ethernet-sized packet), so an announcement never fragments.
 * Data from the network is not validated here: parsing keeps whatever arrived (txt.ts).
 */

/** Keys the plugin writes itself (see the README's TXT table); a property may not use them. */
export const RESERVED_KEYS: readonly string[] = Object.freeze(['txtvers', 'name', 'proto', 'codec', 'plugins', 'app', 'scheme', 'path'])

/** One TXT string (`key=value`) is at most 255 bytes: its length is one byte. */
export const MAX_TXT_STRING = 255
/** RFC 6763 §6.2: keep the whole TXT record within 1,300 bytes. */
export const MAX_TXT_RECORD = 1300
export const MAX_KEY_LENGTH = 63
/** Printable US-ASCII without space and `=`. */
export const KEY_PATTERN = '^[!-<>-~]{1,63}$'
const KEY = new RegExp(KEY_PATTERN)

/** Bytes a TXT record takes on the wire: a length byte plus the bytes of each `key=value` string. */
export function txtRecordSize(txt: Readonly<Record<string, string>>): number {
  let size = 0
  for (const [key, value] of Object.entries(txt)) size += 1 + Buffer.byteLength(`${key}=${value}`)
  return size
}

/**
 * What is wrong with these properties, given the plugin's own fields (`base`), one line each; an
 * empty list when they can be advertised.
 */
export function propertyProblems(properties: unknown, base: Readonly<Record<string, string>> = {}): string[] {
  if (typeof properties !== 'object' || properties === null || Array.isArray(properties)) return ['properties must be an object of key → string value']
  const problems: string[] = []
  const seen = new Map<string, string>()
  for (const [key, value] of Object.entries(properties)) {
    const shown = JSON.stringify(key).slice(0, 80)
    if (!KEY.test(key)) {
      problems.push(`key ${shown} must be 1–${MAX_KEY_LENGTH} printable ASCII characters without '=' or space`)
      continue
    }
    const lower = key.toLowerCase()
    if (RESERVED_KEYS.includes(lower)) problems.push(`key ${shown} is written by the plugin itself (reserved: ${RESERVED_KEYS.join(', ')})`)
    const twin = seen.get(lower)
    if (twin !== undefined) problems.push(`keys ${JSON.stringify(twin)} and ${shown} differ only in case (TXT keys are case-insensitive)`)
    seen.set(lower, key)
    if (typeof value !== 'string' || value.length === 0) {
      problems.push(`the value of ${shown} must be a non-empty string`)
      continue
    }
    const bytes = Buffer.byteLength(`${key}=${value}`)
    if (bytes > MAX_TXT_STRING) problems.push(`${shown}=… is ${bytes} bytes; one TXT string holds at most ${MAX_TXT_STRING}`)
  }
  if (problems.length === 0) {
    const total = txtRecordSize(base) + txtRecordSize(properties as Record<string, string>)
    if (total > MAX_TXT_RECORD) problems.push(`the TXT record would be ${total} bytes (the plugin's own fields take ${txtRecordSize(base)}); keep it within ${MAX_TXT_RECORD} (RFC 6763 §6.2)`)
  }
  return problems
}

/** The application's properties among the TXT strings received (every key the plugin does not write). */
export function customProperties(raw: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(raw)) if (!RESERVED_KEYS.includes(key.toLowerCase())) out[key] = value
  return out
}
