-- profile_upsert: create or complete a profile, keeping email and phone unique.
-- KEYS[1] profile hash  KEYS[2] email index hash  KEYS[3] phone index hash
-- ARGV[1] prof_id  ARGV[2] now (epoch ms)  ARGV[3] email or ""  ARGV[4] phone or ""
-- ARGV[5..] field/value pairs to set (absent fields keep their value).
-- A light profile auto-created by the worker becomes a full one (light = 0);
-- its purchase stats stay as they are.
-- Returns {status (201 new, 200 existing -- light or full), flat HGETALL}
-- or {409, field}.
local id, now, email, phone = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if email ~= '' then
  local owner = redis.call('HGET', KEYS[2], email)
  if owner and owner ~= id then
    return {409, 'email'}
  end
end
if phone ~= '' then
  local owner = redis.call('HGET', KEYS[3], phone)
  if owner and owner ~= id then
    return {409, 'phone_number'}
  end
end
local old = redis.call('HMGET', KEYS[1], 'email', 'phone_number', 'light', 'created_at')
local status = 200
if not old[4] then
  status = 201
  redis.call('HSET', KEYS[1], 'created_at', now)
end
if email ~= '' then
  if old[1] and old[1] ~= email then
    redis.call('HDEL', KEYS[2], old[1])
  end
  redis.call('HSET', KEYS[2], email, id)
  redis.call('HSET', KEYS[1], 'email', email)
end
if phone ~= '' then
  if old[2] and old[2] ~= phone then
    redis.call('HDEL', KEYS[3], old[2])
  end
  redis.call('HSET', KEYS[3], phone, id)
  redis.call('HSET', KEYS[1], 'phone_number', phone)
end
redis.call('HSET', KEYS[1], 'light', '0', 'updated_at', now)
for i = 5, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
return {status, redis.call('HGETALL', KEYS[1])}
