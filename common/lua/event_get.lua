-- event_get: the stored event by evt_ id or by external id.
-- KEYS[1] ev hash  KEYS[2] evx hash   ARGV[1] the reference
-- Returns the msgpack event or false.
local ref = ARGV[1]
if string.sub(ref, 1, 4) == 'evt_' then
  local v = redis.call('HGET', KEYS[1], ref)
  if v then
    return v
  end
end
local id = redis.call('HGET', KEYS[2], ref)
if not id then
  return false
end
return redis.call('HGET', KEYS[1], id)
