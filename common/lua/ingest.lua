-- ingest: accept canonical events of one tenant, atomically per call.
-- Every key shares the tenant's hash tag (Redis Cluster safe).
-- KEYS[1] evx     hash external_id -> evt_id (dedupe)
-- KEYS[2] ev      hash evt_id -> msgpack (stored events)
-- KEYS[3] seq     counter: each accepted event takes the next value
-- KEYS[4] stream  the tenant's event stream
-- KEYS[5] idem    the Idempotency-Key record, or the tenant key when none was sent
-- KEYS[4+2i] the store hash of event i (must exist)
-- KEYS[5+2i] the profile hash of event i when it must exist, else the tenant key
-- ARGV[1] body hash or "" (no Idempotency-Key; only ever with one event)
-- ARGV[2] idempotency TTL seconds
-- ARGV[3+4(i-1)..] per event i: evt_id, external_id or "", msgpack, "1" when the
--                  profile must exist
-- Returns four values per event: status, evt_id or the missing field,
-- the stored msgpack or false, replayed (0/1):
--   201 accepted; 200 external_id already ingested (the stored event);
--   404 with the missing field ("store" / "profile_id"); 409 "IDEMPOTENCY_CONFLICT".
-- Only 2xx outcomes are remembered under an idempotency key, so a request
-- that failed can be retried with the same key once its cause is fixed.
-- Cost: O(events); callers cap the events per call.
local hash = ARGV[1]
local n = (#ARGV - 2) / 4
local out = {}

if hash ~= '' then
  local rec = redis.call('HMGET', KEYS[5], 'h', 's', 'e')
  if rec[1] then
    if rec[1] ~= hash then
      return {409, 'IDEMPOTENCY_CONFLICT', false, 0}
    end
    return {tonumber(rec[2]), rec[3], redis.call('HGET', KEYS[2], rec[3]), 1}
  end
end

for i = 1, n do
  local a = 3 + 4 * (i - 1)
  local id, ext, mp = ARGV[a], ARGV[a + 1], ARGV[a + 2]
  local status, stored = 201, false
  -- an external_id already ingested answers 200 with the stored event,
  -- whatever the resent body references now
  local prev = ext ~= '' and redis.call('HGET', KEYS[1], ext)
  if prev then
    status, id = 200, prev
    stored = redis.call('HGET', KEYS[2], prev)
  elseif redis.call('EXISTS', KEYS[4 + 2 * i]) == 0 then
    status, id = 404, 'store'
  elseif ARGV[a + 3] == '1' and redis.call('EXISTS', KEYS[5 + 2 * i]) == 0 then
    status, id = 404, 'profile_id'
  end
  if status == 201 then
    local q = redis.call('INCR', KEYS[3])
    redis.call('HSET', KEYS[2], id, mp)
    if ext ~= '' then
      redis.call('HSET', KEYS[1], ext, id)
    end
    redis.call('XADD', KEYS[4], '*', 'e', mp, 'q', q)
  end
  if hash ~= '' and status < 300 then
    redis.call('HSET', KEYS[5], 'h', hash, 's', status, 'e', id)
    redis.call('EXPIRE', KEYS[5], tonumber(ARGV[2]))
  end
  out[#out + 1] = status
  out[#out + 1] = id
  out[#out + 1] = stored
  out[#out + 1] = 0
end
return out
