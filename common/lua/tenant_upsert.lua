-- tenant_upsert: create a tenant, or confirm one with the same settings.
-- KEYS[1] the tenant hash   ARGV[1] timezone  ARGV[2] default_currency  ARGV[3] now
-- Returns 201 created, 200 same settings, 409 different settings.
local cur = redis.call('HMGET', KEYS[1], 'timezone', 'default_currency')
if cur[1] then
  if cur[1] == ARGV[1] and cur[2] == ARGV[2] then
    return 200
  end
  return 409
end
redis.call('HSET', KEYS[1], 'timezone', ARGV[1], 'default_currency', ARGV[2], 'created_at', ARGV[3])
return 201
