/**
 * The declarative alternative to an `authorize` function: role name → allowed action patterns.
 * A pattern is `kind:name` where `*` matches any run of characters (dots included), or `*` alone
 * for everything. The role comes from `identity[roleOf]` (a name or an array of names). Anything
 * not allowed by one of the session's roles is refused — including every action of a session with
 * no identity or no known role.
 */
import type { Action } from '@echostream/kernel'
import type { RulesOptions } from './options.js'

export interface CompiledRules {
  /** The session's role names (for messages), or [] when it has none. */
  rolesOf(identity: unknown): string[]
  /** True when one of `roles` allows `action`. */
  allows(roles: readonly string[], action: Action): boolean
}

function compilePattern(pattern: string): RegExp {
  const source = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')
  return new RegExp(`^${source}$`, 's')
}

export function compileRules(rules: Readonly<RulesOptions>): CompiledRules {
  const byRole = new Map<string, RegExp[]>()
  for (const [role, patterns] of Object.entries(rules.roles)) byRole.set(role, patterns.map(compilePattern))
  const roleOf = rules.roleOf
  return {
    rolesOf(identity) {
      if (typeof identity !== 'object' || identity === null) return []
      const value = (identity as Record<string, unknown>)[roleOf]
      if (typeof value === 'string') return [value]
      return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []
    },
    allows(roles, action) {
      const subject = `${action.kind}:${action.name}`
      for (const role of roles) {
        const patterns = byRole.get(role)
        if (patterns?.some((p) => p.test(subject))) return true
      }
      return false
    },
  }
}

/** For messages: "role 'user'", "roles 'a', 'b'", or "a session with no role". */
export function describeRoles(roles: readonly string[]): string {
  if (roles.length === 0) return 'a session with no role'
  return `${roles.length === 1 ? 'role' : 'roles'} ${roles.map((r) => `'${r}'`).join(', ')}`
}
