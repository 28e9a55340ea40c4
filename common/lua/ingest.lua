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
-- Cost: O(events): per event a dedupe lookup, a store (and profile) check
-- and an XADD; the counter and the two hashes take one call per call.
-- Callers cap the events per call.
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

-- First pass: every event's outcome. An external_id taken by an earlier
-- event of this call answers 200 with that event, as it would have had the
-- events come one call each.
local call = redis.call
local status, ids, stored = {}, {}, {}
local taken = {} -- external_id -> index of the event of this call that took it
local accepted = 0
for i = 1, n do
  local a = 3 + 4 * (i - 1)
  local id, ext = ARGV[a], ARGV[a + 1]
  local st, sv = 201, false
  -- an external_id already ingested answers 200 with the stored event,
  -- whatever the resent body references now
  local prev = ext ~= '' and (taken[ext] or call('HGET', KEYS[1], ext))
  if type(prev) == 'number' then
    st, id, sv = 200, ids[prev], ARGV[3 + 4 * (prev - 1) + 2]
  elseif prev then
    st, id = 200, prev
    sv = call('HGET', KEYS[2], prev)
  elseif call('EXISTS', KEYS[4 + 2 * i]) == 0 then
    st, id = 404, 'store'
  elseif ARGV[a + 3] == '1' and call('EXISTS', KEYS[5 + 2 * i]) == 0 then
    st, id = 404, 'profile_id'
  end
  if st == 201 then
    accepted = accepted + 1
    if ext ~= '' then
      taken[ext] = i
    end
  end
  status[i], ids[i], stored[i] = st, id, sv
end

-- Second pass: the accepted events take consecutive q's, one XADD each, and
-- are stored with one HSET per hash (a call per event was a third of the
-- script's cost).
if accepted > 0 then
  local q = call('INCRBY', KEYS[3], accepted) - accepted
  local evs, exts = {}, {}
  for i = 1, n do
    if status[i] == 201 then
      local a = 3 + 4 * (i - 1)
      q = q + 1
      evs[#evs + 1] = ids[i]
      evs[#evs + 1] = ARGV[a + 2]
      if ARGV[a + 1] ~= '' then
        exts[#exts + 1] = ARGV[a + 1]
        exts[#exts + 1] = ids[i]
      end
      call('XADD', KEYS[4], '*', 'e', ARGV[a + 2], 'q', q)
    end
  end
  call('HSET', KEYS[2], unpack(evs))
  if #exts > 0 then
    call('HSET', KEYS[1], unpack(exts))
  end
end

for i = 1, n do
  if hash ~= '' and status[i] < 300 then
    call('HSET', KEYS[5], 'h', hash, 's', status[i], 'e', ids[i])
    call('EXPIRE', KEYS[5], tonumber(ARGV[2]))
  end
  out[#out + 1] = status[i]
  out[#out + 1] = ids[i]
  out[#out + 1] = stored[i]
  out[#out + 1] = 0
end
return out
