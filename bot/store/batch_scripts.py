"""Scripts that handle a whole batch of chats in one round trip: the enqueue tick's step, and batch reads.

OFFER_DUE is the enqueue tick's one step per batch of chats: due times set, digests queued, all at once.

It keeps every promise of the per-chat steps it replaces (ADD_IF_SUBSCRIBED, ENQUEUE_ONCE): a chat without a
subscription is never queued nor scheduled, a chat is queued at most once per day (HSETNX on its records), a
chat that already has the newest day gets nothing; each chat's keys are passed in KEYS.
"""

from __future__ import annotations

# KEYS: due, waiting, stream, days; then for each chat: its subscriber hash, its records.
# ARGV: mode (`schedule`: set due times only; `wait`: offered chats wait for a late day; `offer`: queue the newest
#       day), the newest ready day, the records' ttl; then a JSON array holding for each chat: its key, its next
#       due time (epoch seconds; '' to unschedule it, '=' to leave it), '1' to offer it the day (else '0') — one
#       argument, not three a chat, as the client's encoding of each argument was most of the tick's CPU.
# Returns how many digests it queued.
OFFER_DUE = """
local mode, newest, ttl = ARGV[1], ARGV[2], ARGV[3]
local days = {}
if mode == 'offer' then days = redis.call('ZRANGE', KEYS[4], 0, -1) end
local queued = 0
local plan = cjson.decode(ARGV[4])
for i = 0, (#KEYS - 4) / 2 - 1 do
  local sub, records = KEYS[5 + 2 * i], KEYS[6 + 2 * i]
  local chat, due, offer = plan[3 * i + 1], plan[3 * i + 2], plan[3 * i + 3]
  local subscribed = redis.call('EXISTS', sub) == 1
  if offer == '1' and subscribed then
    if mode == 'wait' then
      redis.call('SADD', KEYS[2], chat)
    elseif mode == 'offer' then
      local last = redis.call('HGET', sub, 'last_day')
      if not last or last < newest then
        local skipped = 0
        if last then
          for _, day in ipairs(days) do
            if day > last and day < newest then skipped = skipped + 1 end
          end
        end
        if redis.call('HSETNX', records, 'enqueued:' .. newest, '1') == 1 then
          redis.call('EXPIRE', records, ttl)
          redis.call('XADD', KEYS[3], '*', 'chat', chat, 'day', newest, 'skipped', skipped)
          queued = queued + 1
        end
      end
    end
  end
  if due == '' or (due ~= '=' and not subscribed) then
    redis.call('ZREM', KEYS[1], chat)
  elseif due ~= '=' then
    redis.call('ZADD', KEYS[1], due, chat)
  end
end
return queued
"""

# KEYS: hashes. ARGV: field names. Returns each hash's values of those fields (false where missing) as one JSON
# text: one reply to parse per batch, not one per chat (a pipeline of HMGETs cost three times the client CPU).
READ_FIELDS = """
local rows = {}
for i, key in ipairs(KEYS) do
  rows[i] = redis.call('HMGET', key, unpack(ARGV))
end
return cjson.encode(rows)
"""

# KEYS: a set. ARGV: cursor, count. SSCAN's reply (the next cursor and a page of members) as one JSON text: one
# string to parse per page instead of one reply element per member.
SCAN_MEMBERS = """
return cjson.encode(redis.call('SSCAN', KEYS[1], ARGV[1], 'COUNT', ARGV[2]))
"""
