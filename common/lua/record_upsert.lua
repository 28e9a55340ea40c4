-- record_upsert: create or update a reference record (a store) kept as a hash.
-- KEYS[1] the record hash
-- ARGV[1] now (epoch ms), then field/value pairs; fields absent from the
-- request keep their stored value (merge semantics).
-- Returns {status (201 created / 200 updated), flat HGETALL of the record}.
local status = 200
if redis.call('EXISTS', KEYS[1]) == 0 then
  status = 201
  redis.call('HSET', KEYS[1], 'created_at', ARGV[1])
end
redis.call('HSET', KEYS[1], 'updated_at', ARGV[1])
for i = 2, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
return {status, redis.call('HGETALL', KEYS[1])}
