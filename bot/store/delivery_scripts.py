"""The delivery engine's atomic steps, as Lua scripts run inside Redis (each one all-or-nothing, never interleaved).

Per-chat writes first check the chat's forwarding record (`moved:`): a group that migrated while one of its
deliveries was in flight has its records under the new id, and a write aimed at the id it had when the delivery
started answers -1 so the caller follows the forwarding and tries again. They also write nothing for a chat
without a subscription: a /stop during a send leaves no record behind.
"""

from __future__ import annotations

# KEYS: subscriber, records, stream. ARGV: records ttl, chat key, day, skipped.
ENQUEUE_ONCE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
if redis.call('HSETNX', KEYS[2], 'enqueued:' .. ARGV[3], '1') == 0 then return false end
redis.call('EXPIRE', KEYS[2], ARGV[1])
return redis.call('XADD', KEYS[3], '*', 'chat', ARGV[2], 'day', ARGV[3], 'skipped', ARGV[4])
"""

# KEYS: moved (of the delivery's chat), subscriber, records (of the chat it goes to now).
# ARGV: the forwarding expected ('' for none), day, messages sent, records ttl.
SET_PROGRESS = """
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return -1 end
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
redis.call('HSET', KEYS[3], 'progress:' .. ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[3], ARGV[4])
return 1
"""

# KEYS: moved (of the delivery's chat), subscriber, records, sent (of the chat it went to), stream, lease.
# ARGV: the forwarding expected, group, entry id, day, oldest day kept in sent, records ttl, sent ttl,
#       the packed positions of the papers sent ('' for none).
# The records of days before this one go: the engine never queues a day at or before last_day again.
FINISH = """
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return -1 end
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('HSET', KEYS[2], 'last_day', ARGV[4])
  for _, field in ipairs(redis.call('HKEYS', KEYS[3])) do
    if string.sub(field, -10) < ARGV[4] then redis.call('HDEL', KEYS[3], field) end
  end
  redis.call('HSET', KEYS[3], 'delivered:' .. ARGV[4], '1')
  redis.call('HDEL', KEYS[3], 'progress:' .. ARGV[4])
  redis.call('EXPIRE', KEYS[3], ARGV[6])
  if ARGV[8] ~= '' then redis.call('HSET', KEYS[4], ARGV[4], ARGV[8]) end
  for _, field in ipairs(redis.call('HKEYS', KEYS[4])) do
    if field < ARGV[5] then redis.call('HDEL', KEYS[4], field) end
  end
  redis.call('EXPIRE', KEYS[4], ARGV[7])
end
redis.call('XACK', KEYS[5], ARGV[2], ARGV[3])
redis.call('XDEL', KEYS[5], ARGV[3])
redis.call('DEL', KEYS[6])
if ARGV[1] ~= '' then redis.call('DEL', KEYS[1]) end
return 1
"""

# Replace a chat's papers seen in the old layout (a sorted set of ids) by the same papers as positions, in one step.
# KEYS: subscriber, old sorted set, sent. ARGV: sent ttl, then day and packed positions pairs (merged already).
CONVERT_SEEN = """
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
redis.call('DEL', KEYS[2])
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]) end
if #ARGV > 1 then redis.call('EXPIRE', KEYS[3], ARGV[1]) end
return 1
"""

# KEYS: stream, lease, moved (of the delivery's chat). ARGV: group, entry id.
ACK = """
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('DEL', KEYS[2], KEYS[3])
return 1
"""

# Take over pending entries idle for ARGV[3] ms whose lease expired (their worker died), and lease them.
# KEYS: stream, then the lease of each candidate. ARGV: group, consumer, min idle ms, lease ms, at most, ids...
CLAIM = """
local claimed = {}
for i = 2, #KEYS do
  if #claimed >= tonumber(ARGV[5]) then break end
  if redis.call('EXISTS', KEYS[i]) == 0 then
    local got = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4 + i])
    if got[1] then
      redis.call('SET', KEYS[i], ARGV[2], 'PX', ARGV[4])
      claimed[#claimed + 1] = got[1]
    end
  end
end
return claimed
"""

# Extend this worker's leases; an expired one is taken back only while the entry is still this worker's (nobody
# claimed it meanwhile). Returns the ids this worker no longer holds.
# KEYS: stream, then the lease of each id. ARGV: group, consumer, lease ms, ids...
RENEW = """
local lost = {}
for i = 2, #KEYS do
  local id = ARGV[2 + i]
  local holder = redis.call('GET', KEYS[i])
  if holder == ARGV[2] then
    redis.call('PEXPIRE', KEYS[i], ARGV[3])
  elseif holder == false then
    local pending = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)
    if pending[1] and pending[1][2] == ARGV[2] then
      redis.call('SET', KEYS[i], ARGV[2], 'PX', ARGV[3])
    else
      lost[#lost + 1] = id
    end
  else
    lost[#lost + 1] = id
  end
end
return lost
"""

# KEYS: lease. ARGV: consumer. Give a lease up, if it is still ours.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# KEYS: subscriber, a set or sorted set of chats. ARGV: chat key, score (sorted set) or '' (set).
# Add a chat to a schedule only while it has a subscription (a /stop may have just deleted it).
ADD_IF_SUBSCRIBED = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[2] == '' then return redis.call('SADD', KEYS[2], ARGV[1]) end
return redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
"""

# A group's new id takes over its subscription, records and papers sent; its deliveries in flight follow `moved:`.
# KEYS: the old id's history keys (subscriber first), the new id's in the same order; subscribers, due, waiting,
#       unscheduled; moved (of the old id). ARGV: old chat key, new chat key, forwarding ttl.
MOVE_CHAT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local n = (#KEYS - 5) / 2
for i = 1, n do
  if redis.call('EXISTS', KEYS[i]) == 1 then redis.call('RENAME', KEYS[i], KEYS[i + n]) end
end
local shared = 2 * n
redis.call('SREM', KEYS[shared + 1], ARGV[1])
redis.call('SADD', KEYS[shared + 1], ARGV[2])
redis.call('ZREM', KEYS[shared + 2], ARGV[1])
if redis.call('SREM', KEYS[shared + 3], ARGV[1]) == 1 then redis.call('SADD', KEYS[shared + 3], ARGV[2]) end
redis.call('SREM', KEYS[shared + 4], ARGV[1])
redis.call('SADD', KEYS[shared + 4], ARGV[2])
redis.call('SET', KEYS[shared + 5], ARGV[2], 'EX', ARGV[3])
return 1
"""
