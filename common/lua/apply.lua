-- apply.lua: the worker's script. Three modes, chosen by ARGV[1].
--
-- "apply": applies one event's precomputed ops exactly once (worker/plan.h).
--   KEYS[1] sg:{t}:applied   bitmap, bit q set once event q is applied
--   KEYS[2] sg:{t}:contrib   hash upsert key -> deltas last applied for it
--   KEYS[3..]                every key an op touches (one hash tag)
--   ARGV[2] q                tenant sequence number of the event
--   ARGV[3] upsert key       "" when the event replaces nothing
--   ARGV[4] expected contrib the contrib record the plan was built from ("" = none)
--   ARGV[5] new contrib      "" = leave the stored record as it is
--   ARGV[6..] ops, four arguments each: code, KEYS index, field, value
--     I  HINCRBY key field value
--     N  HSETNX  key field value
--     L  HSET when the field is missing or value < stored (numbers)
--     G  HSET when the field is missing or value > stored (numbers)
--     W  guard: holds when the field is missing or value >= stored; it rules
--        the C ops that follow, until the next W
--     C  HSET when the last guard held
--     S  SADD key field (value unused)
--   Returns "ok", "dup" (already applied: nothing done) or "stale" (the
--   contrib record changed since the plan was built: nothing done, rebuild).
--   Cost: O(number of ops).
--
-- "deadletter": moves a stream entry to the dead-letter stream once.
--   KEYS[1] sg:{t}:stream, KEYS[2] sg:{t}:deadletter
--   ARGV[2] group, ARGV[3] entry id, ARGV[4] e (msgpack), ARGV[5] reason,
--   ARGV[6] delivery count
--   XACKs the entry; only when that acknowledged it (so a race of two
--   workers writes one record) XADDs id, e, reason, deliveries.
--   Returns 1 when written, 0 when someone else had acknowledged it.
--
-- "forget": deletes a consumer that has nothing pending and has been idle
--   long enough. Checking and deleting in one script matters: DELCONSUMER
--   drops the consumer's pending entries, and between a separate check and
--   the delete the consumer could have read some (Redis 7.0 counts idle from
--   the last read that delivered something, so a live consumer of a quiet
--   stream looks idle; it is recreated by its next read).
--   KEYS[1] sg:{t}:stream; ARGV[2] group, ARGV[3] consumer, ARGV[4] min idle ms
--   Returns 1 when deleted, else 0. Cost: O(consumers of the group).

local mode = ARGV[1]
local call = redis.call

if mode == 'forget' then
	for _, c in ipairs(call('XINFO', 'CONSUMERS', KEYS[1], ARGV[2])) do
		local f = {}
		for i = 1, #c, 2 do
			f[c[i]] = c[i + 1]
		end
		if f.name == ARGV[3] then
			if f.pending ~= 0 or f.idle < tonumber(ARGV[4]) then
				return 0
			end
			call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[2], ARGV[3])
			return 1
		end
	end
	return 0
end

if mode == 'deadletter' then
	if call('XACK', KEYS[1], ARGV[2], ARGV[3]) == 0 then
		return 0
	end
	call('XADD', KEYS[2], '*', 'id', ARGV[3], 'e', ARGV[4],
		'reason', ARGV[5], 'deliveries', ARGV[6])
	return 1
end

if mode ~= 'apply' then
	return redis.error_reply('ERR apply.lua: unknown mode')
end

local applied, contrib = KEYS[1], KEYS[2]
local q = tonumber(ARGV[2])
local upsert_key = ARGV[3]
local first = 6

-- Validate everything before the first write: a script error does not roll back.
-- codes: true = any value, 'n' = the value must be a number.
local codes = {I = true, N = true, S = true, C = true, L = 'n', G = 'n', W = 'n'}
local nargv, nkeys = #ARGV, #KEYS
if not q or q < 0 or (nargv - first + 1) % 4 ~= 0 then
	return redis.error_reply('ERR apply.lua: bad arguments')
end
for i = first, nargv, 4 do
	local c = codes[ARGV[i]]
	local k = tonumber(ARGV[i + 1])
	if not c or not k or k < 3 or k > nkeys or (c == 'n' and not tonumber(ARGV[i + 3])) then
		return redis.error_reply('ERR apply.lua: bad op at ARGV[' .. i .. ']')
	end
end

if call('GETBIT', applied, q) == 1 then
	return 'dup'
end
if upsert_key ~= '' then
	local cur = call('HGET', contrib, upsert_key)
	if (cur or '') ~= ARGV[4] then
		return 'stale'
	end
	if ARGV[5] ~= '' then
		call('HSET', contrib, upsert_key, ARGV[5])
	end
end
call('SETBIT', applied, q, 1)

local guard = true
for i = first, nargv, 4 do
	local code, key, field, value = ARGV[i], KEYS[tonumber(ARGV[i + 1])], ARGV[i + 2], ARGV[i + 3]
	if code == 'I' then
		call('HINCRBY', key, field, value)
	elseif code == 'N' then
		call('HSETNX', key, field, value)
	elseif code == 'S' then
		call('SADD', key, field)
	elseif code == 'C' then
		if guard then
			call('HSET', key, field, value)
		end
	else
		local stored = tonumber(call('HGET', key, field))
		local n = tonumber(value)
		if code == 'W' then
			guard = stored == nil or n >= stored
		elseif stored == nil or (code == 'L' and n < stored) or (code == 'G' and n > stored) then
			call('HSET', key, field, value)
		end
	end
end
return 'ok'
