-- Shared code of the wrk scripts (bench/wrk/*.lua): the Noticia event
-- generator and the per-thread status counters printed as one JSON line by
-- done(). Loaded with require() from every script; wrk runs the top level of
-- a script once in its main Lua state and once in every thread's state.
--
-- Environment (set by bench/run):
--   SGB_TAG        run tag, part of every external_id (unique per phase)
--   SGB_KEY        API key sent in x-api-key
--   SGB_STORES     number of stores seeded as bench-store-000..; default 200
--   SGB_PRODUCTS   distinct product SKUs; default 300
--   SGB_PROFILES   distinct CRM profile ids; default 500
--   SGB_DUP_PCT    percent of requests that replay an earlier event; default 10
--   SGB_RETURN_PCT percent of events that are RETURNs; default 15

local M = {}

local function env_num(name, default)
  local v = tonumber(os.getenv(name) or "")
  if v == nil then return default end
  return v
end

M.tag = os.getenv("SGB_TAG") or "t"
M.key = os.getenv("SGB_KEY") or "ntca_bench_key_0123456789"
M.nstores = env_num("SGB_STORES", 200)
M.nproducts = env_num("SGB_PRODUCTS", 300)
M.nprofiles = env_num("SGB_PROFILES", 500)
M.dup_pct = env_num("SGB_DUP_PCT", 10)
M.return_pct = env_num("SGB_RETURN_PCT", 15)

local fmt = string.format
local floor = math.floor

-- A deterministic 32-bit mix of (thread id, counter): the same pair always
-- gives the same event, so a replay is byte-for-byte the earlier body.
local function mix(tid, n, salt)
  local h = (n * 2654435761 + tid * 40503 + salt * 97) % 4294967296
  h = (h * 69069 + 1) % 4294967296
  return floor(h / 256)
end

local categories = { "Menswear", "Womenswear", "Kids", "Home", "Shoes", "Bags" }
local sizes = { "XS", "S", "M", "L", "XL" }
local colors = { "white", "black", "navy", "red", "green", "beige" }

local function line_item(tid, n, i)
  local p = mix(tid, n, 10 + i) % M.nproducts
  local qty = mix(tid, n, 20 + i) % 3 + 1
  local unit = (p % 50 + 1) * 100
  local total = unit * qty
  local tax = floor(total / 6)
  return fmt('{"external_id":"LINE-%03d","product":{"external_id":"SKU-%05d",'
    .. '"name":"Product %d","properties":{"category":"%s","size":"%s","color":"%s"}},'
    .. '"quantity":%d,"unit_price_cents":%d,"total_price_cents":%d,"tax_cents":%d}',
    i, p, p, categories[p % #categories + 1], sizes[p % #sizes + 1],
    colors[p % #colors + 1], qty, unit, total, tax), total, tax
end

-- Returns the JSON of event n of thread tid (shaped like the vendor guide's
-- example: two line items with products and properties) and its type.
function M.event(tid, n)
  local h = mix(tid, n, 1)
  local kind = (h % 100) < M.return_pct and "RETURN" or "PURCHASE"
  local l1, t1, x1 = line_item(tid, n, 1)
  local l2, t2, x2 = line_item(tid, n, 2)
  local day = h % 30 + 1
  local hour = mix(tid, n, 2) % 22 + 2 -- +02:00 keeps the UTC instant in April
  local minute = mix(tid, n, 3) % 60
  return fmt('{"external_id":"TICKET-%s-%d-%d:%s","type":"%s",'
    .. '"occurred_at":"2026-04-%02dT%02d:%02d:00+02:00","store_id":"bench-store-%03d",'
    .. '"currency":"EUR","profile_id":"crm-customer-%d","total_amount_cents":%d,'
    .. '"total_discount_cents":0,"total_tax_cents":%d,"source":"Cegid POS v3",'
    .. '"line_items":[%s,%s]}',
    M.tag, tid, n, kind, kind, day, hour, minute, mix(tid, n, 4) % M.nstores,
    mix(tid, n, 5) % M.nprofiles, t1 + t2, x1 + x2, l1, l2), kind
end

-- Per-thread state (globals, so done() can read them with thread:get()).
function M.thread_init()
  tid = tid or 0
  seq = 0          -- events generated (distinct ids)
  c_total, c_2xx, c_201, c_200, c_3xx, c_4xx, c_5xx, c_other = 0, 0, 0, 0, 0, 0, 0, 0
  it_201, it_200, it_other = 0, 0, 0 -- batch items by status
  app_err = 0      -- 2xx whose body says it failed (webdis: [false,...])
  sent_dups, sent_returns, sent_events = 0, 0, 0
  math.randomseed(1000 + tid * 7919)
end

-- Next single-event body: a fresh event, or (dup_pct %) an earlier one of
-- this thread replayed unchanged.
function M.next_single()
  if seq > 0 and math.random(100) <= M.dup_pct then
    local back = math.random(math.min(seq, 1000))
    sent_dups = sent_dups + 1
    sent_events = sent_events + 1
    return (M.event(tid, seq - back + 1))
  end
  seq = seq + 1
  local body, kind = M.event(tid, seq)
  if kind == "RETURN" then sent_returns = sent_returns + 1 end
  sent_events = sent_events + 1
  return body
end

-- Next batch body of n fresh events (no replays).
function M.next_batch(n)
  local parts = {}
  for i = 1, n do
    seq = seq + 1
    local body, kind = M.event(tid, seq)
    if kind == "RETURN" then sent_returns = sent_returns + 1 end
    parts[i] = body
  end
  sent_events = sent_events + n
  return '{"events":[' .. table.concat(parts, ",") .. ']}'
end

local function count(body, pat)
  local c, pos = 0, 1
  while true do
    local s, e = string.find(body, pat, pos, true)
    if not s then return c end
    c = c + 1
    pos = e + 1
  end
end

-- Counts one response by status class; batch bodies are counted per item.
function M.count_response(status, body, mode)
  c_total = c_total + 1
  if status == 201 then c_201 = c_201 + 1 end
  if status == 200 then c_200 = c_200 + 1 end
  if status >= 200 and status < 300 then
    c_2xx = c_2xx + 1
    if mode == "batch" and body then
      local a, d = count(body, '"status":201'), count(body, '"status":200')
      it_201 = it_201 + a
      it_200 = it_200 + d
      it_other = it_other + count(body, '"status":') - a - d
    elseif mode == "webdis" and body and string.find(body, "[false", 1, true) then
      app_err = app_err + 1
    end
  elseif status < 400 then c_3xx = c_3xx + 1
  elseif status < 500 then c_4xx = c_4xx + 1
  elseif status < 600 then c_5xx = c_5xx + 1
  else c_other = c_other + 1 end
end

local threads = {}
local counter = 0

-- setup(): gives every thread its id.
function M.setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

local fields = { "c_total", "c_2xx", "c_201", "c_200", "c_3xx", "c_4xx", "c_5xx", "c_other",
  "it_201", "it_200", "it_other", "app_err", "sent_dups", "sent_returns", "sent_events" }

-- done(): one line "SGBENCH_JSON {...}" with wrk's summary, exact latency
-- percentiles (microseconds) and the summed per-thread counters.
function M.done(summary, latency, requests)
  local out = {}
  local function add(k, v) out[#out + 1] = fmt('"%s":%s', k, tostring(v)) end
  add("requests", summary.requests)
  add("duration_us", summary.duration)
  add("bytes", summary.bytes)
  add("err_connect", summary.errors.connect)
  add("err_read", summary.errors.read)
  add("err_write", summary.errors.write)
  add("err_status", summary.errors.status)
  add("err_timeout", summary.errors.timeout)
  add("lat_mean_us", fmt("%.1f", latency.mean))
  add("lat_max_us", latency.max)
  add("lat_p50_us", latency:percentile(50))
  add("lat_p90_us", latency:percentile(90))
  add("lat_p99_us", latency:percentile(99))
  add("lat_p999_us", latency:percentile(99.9))
  for _, f in ipairs(fields) do
    local sum = 0
    for _, t in ipairs(threads) do sum = sum + (tonumber(t:get(f)) or 0) end
    add(f, sum)
  end
  io.write("SGBENCH_JSON {" .. table.concat(out, ",") .. "}\n")
end

return M
