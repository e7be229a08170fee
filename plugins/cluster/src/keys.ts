/**
 * Every Redis key and channel the cluster uses, in one place (the README's data model). Keys of
 * one room or one session share a `{hash tag}` so a script touching them stays in one slot.
 */
export interface Keys {
  /** Sorted set: node id → expiry (ms, Redis clock). */
  nodes: string
  /** Channel of one node: routed emits/requests, replies, takeover notices. */
  node(id: string): string
  /** Prefix of node channels (scripts append the node id). */
  nodePrefix: string
  /** Channel every node hears: presence changes, node deaths. */
  control: string
  /** Set of presence scopes (room names) that have had members, for sweeps. */
  scopes: string
  room: ChannelKeys & { presence: string; info: string }
  broadcast: ChannelKeys
  online: { presence: string; info: string }
  session(id: string): { state: string; log: string; rpc: string }
  user(id: string): string
}

/** A channel with history: its metadata hash (offset, epoch), its stream, its pub/sub channel. */
export interface ChannelKeys {
  meta: string
  log: string
  channel: string
}

type RoomKeys = (name: string) => ChannelKeys & { presence: string; info: string }

export function createKeys(ns: string): Keys & { roomOf: RoomKeys } {
  const roomOf: RoomKeys = (name) => ({
    meta: `${ns}:r:{${name}}:m`,
    log: `${ns}:r:{${name}}:l`,
    channel: `${ns}:r:${name}`,
    presence: `${ns}:r:{${name}}:p`,
    info: `${ns}:r:{${name}}:i`,
  })
  return {
    nodes: `${ns}:nodes`,
    node: (id) => `${ns}:n:${id}`,
    nodePrefix: `${ns}:n:`,
    control: `${ns}:ctl`,
    scopes: `${ns}:scopes`,
    room: roomOf(''),
    roomOf,
    broadcast: { meta: `${ns}:b:m`, log: `${ns}:b:l`, channel: `${ns}:b` },
    online: { presence: `${ns}:online:p`, info: `${ns}:online:i` },
    session: (id) => ({ state: `${ns}:s:{${id}}:h`, log: `${ns}:s:{${id}}:l`, rpc: `${ns}:s:{${id}}:rpc` }),
    user: (id) => `${ns}:u:{${id}}`,
  }
}

export type ClusterKeys = ReturnType<typeof createKeys>
