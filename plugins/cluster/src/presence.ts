/**
 * Presence without fan-in: per scope (a room, or '' for "online") a sorted set member → expiry
 * (Redis clock) that the hosting node refreshes every heartbeat, plus a hash of member info. A read
 * removes expired members and reports each as a leave, once (ZREM decides who reports). Joins and
 * leaves are published on the control channel, so every node hears them; nobody ever waits for
 * another node to answer, so a dead node cannot make a read time out.
 */
import type { Broker } from './broker.js'
import type { ClusterKeys } from './keys.js'

export interface PresenceMember {
  sessionId: string
  node: string
  user?: string
}

export interface PresenceChange extends PresenceMember {
  type: 'join' | 'leave'
  /** The room, or '' for the cluster-wide "online" scope. */
  room: string
  /** Leaves: 'left' (left the room or disconnected), 'expired' (its node stopped refreshing it: died). */
  reason?: string
}

export class Presence {
  constructor(
    private readonly broker: Broker,
    private readonly keys: ClusterKeys,
    private readonly ttlMs: number,
  ) {}

  #scopeKeys(scope: string): { presence: string; info: string } {
    return scope === '' ? this.keys.online : this.keys.roomOf(scope)
  }

  /** Adds or refreshes a member (a join is announced only when it was not present). */
  join(scope: string, member: PresenceMember): Promise<unknown> {
    const k = this.#scopeKeys(scope)
    return this.broker.run('presenceJoin', [k.presence, k.info, this.keys.scopes], [member.sessionId, this.ttlMs, JSON.stringify(member), scope, this.keys.control])
  }

  leave(scope: string, sessionId: string, reason = 'left'): Promise<unknown> {
    const k = this.#scopeKeys(scope)
    return this.broker.run('presenceLeave', [k.presence, k.info], [sessionId, scope, this.keys.control, reason])
  }

  /** The live members of a scope (expired ones are removed and reported as leaves first). */
  async read(scope: string): Promise<PresenceMember[]> {
    const k = this.#scopeKeys(scope)
    const flat = (await this.broker.run('presenceRead', [k.presence, k.info], [scope, this.keys.control])) as string[]
    const members: PresenceMember[] = []
    for (let i = 0; i + 1 < flat.length; i += 2) members.push(parseInfo(flat[i]!, flat[i + 1]!))
    return members
  }

  /** Reads (and so sweeps) every scope that has had members: after a node died. */
  async sweep(): Promise<void> {
    const scopes = await this.broker.cmd.smembers(this.keys.scopes)
    await Promise.all([this.read(''), ...scopes.map((scope) => this.read(scope).then((live) => (live.length ? undefined : this.broker.cmd.srem(this.keys.scopes, scope))))])
  }
}

export function parseInfo(member: string, info: string): PresenceMember {
  try {
    const parsed = JSON.parse(info) as PresenceMember
    if (typeof parsed.sessionId === 'string') return parsed
  } catch {
    // fall through
  }
  return { sessionId: member, node: '' }
}
