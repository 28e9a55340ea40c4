-- ingest: accept one canonical event of one tenant, atomically.
-- Every key shares the tenant's hash tag (Redis Cluster safe).
-- KEYS[1] evx     hash external_id -> evt_id (dedupe)
-- KEYS[2] ev      hash evt_id -> msgpack (stored events)
-- KEYS[3] seq     counter
-- KEYS[4] stream  the tenant's event stream
-- KEYS[5] store   the store's hash (must exist)
-- KEYS[6] profile the profile hash that must exist, or the tenant key when none must
-- KEYS[7] idem    the Idempotency-Key record, or the tenant key when none was sent
-- ARGV[1] evt_id  ARGV[2] external_id or ""  ARGV[3] msgpack event
-- ARGV[4] "1" when KEYS[6] must exist   ARGV[5] body hash or "" (no idempotency key)
-- ARGV[6] idempotency TTL seconds
-- Returns {status, evt_id_or_field, stored_msgpack_or_false, replayed}
--   201 accepted; 200 external_id already ingested (the stored event);
--   404 with the missing field ("store" / "profile_id"); 409 "IDEMPOTENCY_CONFLICT".
-- Only 2xx outcomes are remembered under an idempotency key, so a request
-- that failed can be retried with the same key once its cause is fixed.
local hash = ARGV[5]
if hash ~= '' then
  local rec = redis.call('HMGET', KEYS[7], 'h', 's', 'e')
  if rec[1] then
    if rec[1] ~= hash then
      return {409, 'IDEMPOTENCY_CONFLICT', false, 0}
    end
    return {tonumber(rec[2]), rec[3], redis.call('HGET', KEYS[2], rec[3]), 1}
  end
end
if redis.call('EXISTS', KEYS[5]) == 0 then
  return {404, 'store', false, 0}
end
if ARGV[4] == '1' and redis.call('EXISTS', KEYS[6]) == 0 then
  return {404, 'profile_id', false, 0}
end
local status, id, stored = 201, ARGV[1], false
local ext = ARGV[2]
if ext ~= '' then
  local prev = redis.call('HGET', KEYS[1], ext)
  if prev then
    status, id = 200, prev
    stored = redis.call('HGET', KEYS[2], prev)
  end
end
if status == 201 then
  local q = redis.call('INCR', KEYS[3])
  redis.call('HSET', KEYS[2], id, ARGV[3])
  if ext ~= '' then
    redis.call('HSET', KEYS[1], ext, id)
  end
  redis.call('XADD', KEYS[4], '*', 'e', ARGV[3], 'q', q)
end
if hash ~= '' then
  redis.call('HSET', KEYS[7], 'h', hash, 's', status, 'e', id)
  redis.call('EXPIRE', KEYS[7], tonumber(ARGV[6]))
end
return {status, id, stored, 0}
