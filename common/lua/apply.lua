-- apply.lua: the worker's script. Four modes, chosen by ARGV[1].
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
-- "batch": applies the merged ops of several events (worker/merge.h) exactly
--   once, all or nothing.
--   KEYS as "apply" (KEYS[2] unused)
--   ARGV[2] n, ARGV[3..2+n] the q of every merged event (distinct)
--   ARGV[3+n] the ops, in order, as one msgpack array of groups: a run of
--     ops with the same key and code is key index, code, m, then m times
--     field, value (strings). Codes as "apply"; an I may carry 0 (HINCRBY 0
--     creates the field, as +x and -x applied one by one would have).
--     One argument because receiving thousands of small arguments costs
--     Redis more than running the ops.
--   When some of the events are already applied, does nothing and returns
--   the array of their q's (the worker drops them, merges the rest again
--   and resends); else sets every q's bit and applies the ops: "ok".
--   Cost: O(n + ops); the worker caps ops per call (--apply-max-ops).
--
-- "stage": the first step of a merged unit too large for one script run
--   (the worker splits its ops into chunks, a key's ops never split: a run
--   of Redis stays short however many events the unit merges).
--   KEYS[1] sg:{t}:applied, KEYS[2] sg:{t}:journal (hash chunk name -> ops)
--   ARGV[2] n, ARGV[3..2+n] the q of every merged event (distinct),
--   ARGV[3+n] the unit's name, ARGV[4+n] the tenant's key prefix "sg:{t}:",
--   ARGV[5+n..] the chunks: msgpack groups as "batch" but with the key's
--   full name in place of its KEYS index, every name under the prefix.
--   Every chunk is checked as "chunk" would before anything is written (an
--   error reply, as "batch"; so is a unit name already filed). When some of
--   the events are already applied, does nothing and returns their q's (as
--   "batch"); else sets every q's bit, applies chunk 1 and files chunk i > 1
--   as field "<unit>:<i>" of the journal: "ok". From then on the unit is
--   committed: its other chunks are applied by "chunk" calls, by this worker
--   at once, or by any worker's journal sweep if this one dies first.
--   Cost: O(n + ops of chunk 1 + bytes of the others).
--
-- "chunk": applies one filed chunk exactly once and removes it.
--   KEYS[1] sg:{t}:journal, KEYS[2] sg:{t}:deadletter
--   ARGV[2] the chunk's name, ARGV[3] the tenant's key prefix "sg:{t}:"
--     (every key a chunk names must start with it: one hash tag)
--   The keys a chunk writes are named in it, not in KEYS: the one exception
--   to passing every key in KEYS, kept safe by the prefix check (one hash
--   tag, so one slot on Redis Cluster). An ACL that limits key patterns
--   must allow the tenant's whole sg:{t}: prefix to the worker.
--   Returns "ok" when applied, "gone" when it was applied before. A chunk
--   that cannot be applied (bad ops, an error reply on the way) is removed
--   and written to the dead-letter stream with the error ("failed"):
--   retrying could only fail again or apply its first ops twice.
--   Cost: O(ops of the chunk); the worker caps them (--apply-max-ops).
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
local type, tonumber, unpack = type, tonumber, unpack -- locals: per-op global lookups cost

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

if mode ~= 'apply' and mode ~= 'batch' and mode ~= 'stage' and mode ~= 'chunk' then
	return redis.error_reply('ERR apply.lua: unknown mode')
end

local applied, contrib = KEYS[1], KEYS[2]
local nargv, nkeys = #ARGV, #KEYS

-- Validate everything before the first write: a script error does not roll back.
-- codes: true = any value, 'n' = the value must be a number.
local codes = {I = true, N = true, S = true, C = true, L = 'n', G = 'n', W = 'n'}
local function ops_valid(first)
	if (nargv - first + 1) % 4 ~= 0 then
		return false
	end
	for i = first, nargv, 4 do
		local c = codes[ARGV[i]]
		local k = tonumber(ARGV[i + 1])
		if not c or not k or k < 3 or k > nkeys or (c == 'n' and not tonumber(ARGV[i + 3])) then
			return false
		end
	end
	return true
end

-- A batch's msgpack ops: {key index, code, m, field, value, ...} groups;
-- a chunk's name the key in full, under prefix.
local function key_valid(k, prefix)
	if prefix then
		return type(k) == 'string' and #k > #prefix and k:sub(1, #prefix) == prefix
	end
	return type(k) == 'number' and k % 1 == 0 and k >= 3 and k <= nkeys
end

local function groups_valid(t, prefix)
	local i, n = 1, #t
	while i <= n do
		local k, c, m = t[i], codes[t[i + 1]], t[i + 2]
		if not key_valid(k, prefix) or not c or
			type(m) ~= 'number' or m % 1 ~= 0 or m < 1 or i + 2 + 2 * m > n then
			return false
		end
		for j = i + 3, i + 2 + 2 * m, 2 do
			local f, v = t[j], t[j + 1]
			if type(f) ~= 'string' or type(v) ~= 'string' or (c == 'n' and not tonumber(v)) then
				return false
			end
		end
		i = i + 3 + 2 * m
	end
	return true
end

-- Runs one group's ops on key; returns the guard the C ops that follow obey.
local function run_group(key, code, t, from, to, guard)
	if code == 'I' then
		for j = from, to, 2 do
			call('HINCRBY', key, t[j], t[j + 1])
		end
	elseif code == 'N' then
		for j = from, to, 2 do
			call('HSETNX', key, t[j], t[j + 1])
		end
	elseif code == 'S' then
		for j = from, to, 2 do
			call('SADD', key, t[j])
		end
	elseif code == 'C' then
		for j = from, to, 2 do
			if guard then
				call('HSET', key, t[j], t[j + 1])
			end
		end
	else
		for j = from, to, 2 do
			local stored = tonumber(call('HGET', key, t[j]))
			local n = tonumber(t[j + 1])
			if code == 'W' then
				guard = stored == nil or n >= stored
			elseif stored == nil or (code == 'L' and n < stored) or (code == 'G' and n > stored) then
				call('HSET', key, t[j], t[j + 1])
			end
		end
	end
	return guard
end

-- BITFIELD <op> of the bits of ARGV[from..to] (q's), 500 per call: 2000
-- arguments, well below what unpack can return (~8000, the Lua C stack).
-- GET returns the q's whose bit is set; SET sets them all.
local function q_bits(op, from, to)
	local set = {}
	for i = from, to, 500 do
		local args, last = {}, math.min(to, i + 499)
		for j = i, last do
			args[#args + 1] = op
			args[#args + 1] = 'u1'
			args[#args + 1] = ARGV[j]
			if op == 'SET' then
				args[#args + 1] = 1
			end
		end
		local r = call('BITFIELD', applied, unpack(args))
		for j = i, last do
			if op == 'GET' and r[j - i + 1] == 1 then
				set[#set + 1] = tonumber(ARGV[j])
			end
		end
	end
	return set
end

local function run_groups(t)
	local guard = true
	local i, n = 1, #t
	while i <= n do
		local last = i + 2 + 2 * t[i + 2]
		local k = t[i]
		guard = run_group(type(k) == 'number' and KEYS[k] or k, t[i + 1], t, i + 3, last, guard)
		i = last + 1
	end
end

local function run_ops(first)
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
end

if mode == 'chunk' then
	local journal, name, prefix = KEYS[1], ARGV[2], ARGV[3]
	local blob = call('HGET', journal, name)
	if not blob then
		return 'gone'
	end
	-- Removed first: the first write of a run is where Redis refuses one
	-- (OOM, a replica, ...); then nothing is written and the chunk stays
	-- filed. Once removed, its ops can never run twice.
	call('HDEL', journal, name)
	local ok, t = pcall(cmsgpack.unpack, blob)
	local err = 'bad chunk'
	if ok and type(t) == 'table' and #prefix > 0 and groups_valid(t, prefix) then
		ok, err = pcall(run_groups, t)
		if ok then
			return 'ok'
		end
		err = type(err) == 'table' and (err.err or 'error') or tostring(err)
	end
	call('XADD', KEYS[2], '*', 'chunk', name, 'ops', blob, 'reason', err)
	return 'failed'
end

if mode == 'batch' or mode == 'stage' then
	-- All or nothing: the merged ops cannot be split back into events.
	local n = tonumber(ARGV[2])
	local ok, t = false, nil
	if mode == 'stage' then
		ok = n and n >= 1 and n % 1 == 0 and nargv >= 5 + n and ARGV[3 + n] ~= '' and ARGV[4 + n] ~= ''
		local i = ok and 5 + n or nargv + 1
		while ok and i <= nargv do
			local fine, c = pcall(cmsgpack.unpack, ARGV[i])
			ok = fine and type(c) == 'table' and groups_valid(c, ARGV[4 + n])
			t = t or c -- chunk 1: applied by this run
			i = i + 1
		end
		if ok and nargv > 5 + n and call('HEXISTS', KEYS[2], ARGV[3 + n] .. ':2') == 1 then
			return redis.error_reply('ERR apply.lua: unit ' .. ARGV[3 + n] .. ' already filed')
		end
	elseif n and n >= 1 and n % 1 == 0 and nargv == 3 + n then
		ok, t = pcall(cmsgpack.unpack, ARGV[3 + n])
		ok = ok and type(t) == 'table' and groups_valid(t)
	end
	if not ok then
		return redis.error_reply('ERR apply.lua: bad ' .. mode .. ' arguments')
	end
	local seen = {}
	for i = 3, 2 + n do
		local q = tonumber(ARGV[i])
		if not q or q < 0 or q > 4294967295 or q % 1 ~= 0 or seen[q] then
			return redis.error_reply('ERR apply.lua: bad q at ARGV[' .. i .. ']')
		end
		seen[q] = true
	end
	local dup = q_bits('GET', 3, 2 + n)
	if #dup > 0 then
		return dup
	end
	q_bits('SET', 3, 2 + n)
	if mode == 'stage' and nargv > 5 + n then
		local unit, filed = ARGV[3 + n], {}
		for i = 6 + n, nargv do
			filed[#filed + 1] = unit .. ':' .. (i - 4 - n)
			filed[#filed + 1] = ARGV[i]
		end
		call('HSET', KEYS[2], unpack(filed))
	end
	run_groups(t)
	return 'ok'
end

local q = tonumber(ARGV[2])
local upsert_key = ARGV[3]
if not q or q < 0 or not ops_valid(6) then
	return redis.error_reply('ERR apply.lua: bad arguments')
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
run_ops(6)
return 'ok'
