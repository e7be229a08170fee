/**
 * The Lua scripts. Each runs atomically in Redis, so "append, count and publish" can never be seen
 * half done — a subscriber that sees offset n knows offsets 1..n-1 exist (or existed) in the same
 * epoch. Scripts read time with `TIME` (Redis' clock), so node clocks never need to agree.
 */

/** Redis' clock in ms. */
const NOW = `local __t = redis.call('TIME'); local now = tonumber(__t[1]) * 1000 + math.floor(tonumber(__t[2]) / 1000)`

export const scripts = {
  /**
   * Append to a channel's history and publish, tagged `epoch:offset:`. A missing metadata hash
   * (first use, expired, or a Redis that lost its data) starts a new epoch with a fresh stream.
   * KEYS meta, log. ARGV channel, body, maxlen (0 = no history), ttlMs, candidate epoch.
   */
  publish: {
    keys: 2,
    lua: `
local e = redis.call('HGET', KEYS[1], 'e')
if not e then
  e = ARGV[5]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'e', e, 'o', 0)
end
local o = redis.call('HINCRBY', KEYS[1], 'o', 1)
if tonumber(ARGV[3]) > 0 then
  redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[3], o .. '-0', 'b', ARGV[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PUBLISH', ARGV[1], e .. ':' .. o .. ':' .. ARGV[2])
return {e, o}`,
  },

  /**
   * A bounded read of a channel's history after offset \`from\`: {epoch, offset, entries}. The
   * epoch is '' when the channel has no metadata (nothing published, or history lost).
   * KEYS meta, log. ARGV from, max.
   */
  history: {
    keys: 2,
    lua: `
local e = redis.call('HGET', KEYS[1], 'e')
if not e then return {'', 0, {}} end
local o = tonumber(redis.call('HGET', KEYS[1], 'o'))
local from = tonumber(ARGV[1])
if o <= from then return {e, o, {}} end
return {e, o, redis.call('XRANGE', KEYS[2], (from + 1) .. '-0', '+', 'COUNT', ARGV[2])}`,
  },

  /**
   * A session's state, written by the node that holds it (new session, or re-asserted after a
   * broker outage: then the log restarts at \`sent\` and older replays are reported impossible).
   * KEYS state, log. ARGV ttlMs, then field/value pairs. Refuses (0) when another node took it over.
   */
  sessionPut: {
    keys: 2,
    lua: `
local gen = redis.call('HGET', KEYS[1], 'gen')
local mine = nil
for i = 2, #ARGV, 2 do if ARGV[i] == 'gen' then mine = ARGV[i + 1] end end
if gen and mine and tonumber(gen) > tonumber(mine) then return 0 end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`,
  },

  /**
   * One frame sent to a session: into its replay log, with the count (and the room offset it
   * delivered, and the RPC result it carries). Fenced by generation: a node that lost the session
   * to another gets back the new owner's id instead.
   * KEYS state, log, rpc. ARGV gen, seq, bytes, maxlen, ttlMs, room field, room value, rpc id.
   */
  append: {
    keys: 3,
    lua: `
if redis.call('HGET', KEYS[1], 'gen') ~= ARGV[1] then return redis.call('HGET', KEYS[1], 'node') or '' end
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[4], ARGV[2] .. '-0', 'f', ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'sent', ARGV[2], ARGV[6], ARGV[7]) else redis.call('HSET', KEYS[1], 'sent', ARGV[2]) end
if ARGV[8] ~= '' then
  redis.call('HSET', KEYS[3], ARGV[8], ARGV[3])
  redis.call('PEXPIRE', KEYS[3], ARGV[5])
end
return 1`,
  },

  /**
   * One room event delivered to many sessions of this node: the same bytes appended to each
   * session's log in one call (before any of them is written). Per session: 1, or the new owner
   * (stale generation), or 'err' (its log refused the id).
   * KEYS state/log pairs. ARGV bytes, maxlen, ttlMs, room field, room value, then gen/seq pairs.
   */
  appendMany: {
    keys: -1,
    lua: `
local out = {}
for i = 1, #KEYS / 2 do
  local state, log = KEYS[2 * i - 1], KEYS[2 * i]
  local gen, seq = ARGV[4 + 2 * i], ARGV[5 + 2 * i]
  if redis.call('HGET', state, 'gen') ~= gen then
    out[i] = redis.call('HGET', state, 'node') or ''
  else
    local added = redis.pcall('XADD', log, 'MAXLEN', ARGV[2], seq .. '-0', 'f', ARGV[1])
    if type(added) == 'table' and added.err then
      out[i] = 'err'
    else
      redis.call('PEXPIRE', log, ARGV[3])
      redis.call('HSET', state, 'sent', seq, ARGV[4], ARGV[5])
      out[i] = 1
    end
  end
end
return out`,
  },

  /**
   * A frame from the client, claimed before it is handled: the count, and an RPC request id
   * marked running (`r:<method>` until its reply replaces it), and how many were handled ('done':
   * frames are handled in order, synchronously, so claiming n means n-1 was handled).
   * KEYS state, rpc. ARGV gen, received, rpc id, ttlMs, running marker, done.
   */
  claim: {
    keys: 2,
    lua: `
if redis.call('HGET', KEYS[1], 'gen') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'rcv', ARGV[2], 'done', ARGV[6])
if ARGV[3] ~= '' then
  redis.call('HSETNX', KEYS[2], ARGV[3], ARGV[5])
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
end
return 1`,
  },

  /**
   * A client resumes on this node: check the token (and epoch), read what it missed (bounded;
   * never deleted, so a session can be taken over again), bump the generation (fencing the old
   * holder) and tell the old holder. Returns {status, gen, state…, entries…, rpc…}.
   * The client must still hold what the server side missed (it keeps its frames after \`keptAfter\`).
   * KEYS state, log, rpc. ARGV token, node, client received, max replay, ttlMs, node channel prefix, client epoch, session id, client keptAfter.
   */
  takeover: {
    keys: 3,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return {'gone'} end
if ARGV[1] == '' or redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return {'denied'} end
if ARGV[7] ~= '' and redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[7] then return {'epoch'} end
if tonumber(ARGV[9]) > tonumber(redis.call('HGET', KEYS[1], 'rcv') or '0') then return {'trimmed'} end
local sent = tonumber(redis.call('HGET', KEYS[1], 'sent') or '0')
local rc = tonumber(ARGV[3])
local entries = {}
if rc < sent then
  if sent - rc > tonumber(ARGV[4]) then return {'trimmed'} end
  entries = redis.call('XRANGE', KEYS[2], (rc + 1) .. '-0', sent .. '-0')
  if #entries ~= sent - rc then return {'trimmed'} end
end
local old = redis.call('HGET', KEYS[1], 'node')
local gen = redis.call('HINCRBY', KEYS[1], 'gen', 1)
redis.call('HSET', KEYS[1], 'node', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
redis.call('PEXPIRE', KEYS[3], ARGV[5])
if old and old ~= ARGV[2] then redis.call('PUBLISH', ARGV[6] .. old, cmsgpack.pack({'moved', ARGV[8], gen})) end
return {'ok', gen, redis.call('HGETALL', KEYS[1]), entries, redis.call('HGETALL', KEYS[3])}`,
  },

  /**
   * Presence: add or refresh a member (expiry = now + ttl, Redis clock); publishes a join on the
   * control channel when the member was not there, or its info changed (bound to a user, moved to another node). KEYS zset, info, scopes. ARGV member, ttlMs, info, scope, control channel.
   */
  presenceJoin: {
    keys: 3,
    lua: `
${NOW}
local added = redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
local before = redis.call('HGET', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[4])
if added == 1 or before ~= ARGV[3] then redis.call('PUBLISH', ARGV[5], cmsgpack.pack({'join', ARGV[4], ARGV[1], ARGV[3]})) end
return added`,
  },

  /** Presence: remove a member, publishing the leave once. KEYS zset, info. ARGV member, scope, control channel, reason. */
  presenceLeave: {
    keys: 2,
    lua: `
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
local info = redis.call('HGET', KEYS[2], ARGV[1]) or ''
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('PUBLISH', ARGV[3], cmsgpack.pack({'leave', ARGV[2], ARGV[1], info, ARGV[4]}))
return 1`,
  },

  /**
   * Presence read: members whose expiry passed are removed and reported as leaves (once: ZREM
   * decides which caller reports), then the live members with their info.
   * KEYS zset, info. ARGV scope, control channel.
   */
  presenceRead: {
    keys: 2,
    lua: `
${NOW}
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for _, m in ipairs(expired) do
  if redis.call('ZREM', KEYS[1], m) == 1 then
    local info = redis.call('HGET', KEYS[2], m) or ''
    redis.call('HDEL', KEYS[2], m)
    redis.call('PUBLISH', ARGV[2], cmsgpack.pack({'leave', ARGV[1], m, info, 'expired'}))
  end
end
local live = redis.call('ZRANGE', KEYS[1], 0, -1)
if #live == 0 then return {} end
local infos = redis.call('HMGET', KEYS[2], unpack(live))
local out = {}
for i, m in ipairs(live) do out[#out + 1] = m; out[#out + 1] = infos[i] or '' end
return out`,
  },

  /**
   * Node heartbeat and death detection: refresh this node, then remove (and announce once) every
   * node whose expiry passed. KEYS nodes. ARGV node, ttlMs, control channel. Returns the dead ones.
   */
  heartbeat: {
    keys: 1,
    lua: `
${NOW}
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
local out = {}
for _, n in ipairs(dead) do
  if redis.call('ZREM', KEYS[1], n) == 1 then
    out[#out + 1] = n
    redis.call('PUBLISH', ARGV[3], cmsgpack.pack({'down', n}))
  end
end
return out`,
  },

  /**
   * Routing: deliver a message to the node holding a session. 'gone' when the session ended,
   * 'offline' when no live node holds it right now, else the node it went to.
   * KEYS state, nodes. ARGV node channel prefix, message.
   */
  route: {
    keys: 2,
    lua: `
${NOW}
local node = redis.call('HGET', KEYS[1], 'node')
if not node then return 'gone' end
local expiry = redis.call('ZSCORE', KEYS[2], node)
if not expiry or tonumber(expiry) < now then return 'offline' end
if redis.call('PUBLISH', ARGV[1] .. node, ARGV[2]) == 0 then return 'offline' end
return node`,
  },
} as const

export type ScriptName = keyof typeof scripts
