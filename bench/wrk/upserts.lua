-- POST of the reference-data upsert routes in turn: a CRM profile (the ones
-- the events reference, crm-customer-N, with a unique e-mail each) and a
-- seeded store (a new name). Every answer must be 2xx (201 created, 200
-- updated).
package.path = (os.getenv("SGB_WRK_DIR") or "bench/wrk") .. "/?.lua;" .. package.path
local sg = require("sgbench")

local headers = { ["Content-Type"] = "application/json", ["x-api-key"] = sg.key }
local fmt = string.format

setup = sg.setup
done = sg.done

function init(args)
  sg.thread_init()
end

local sent = 0

function request()
  local n = math.floor(sent / 2) + tid * 7919
  sent = sent + 1
  if sent % 2 == 1 then
    local p = n % sg.nprofiles
    return wrk.format("POST", "/v1/profiles", headers, fmt(
      '{"external_id":"crm-customer-%d","email":"crm-customer-%d@example.com",'
      .. '"first_name":"Customer","last_name":"N%d","phone_number":"+3361%07d"}', p, p, n, p))
  end
  local s = n % sg.nstores
  return wrk.format("POST", "/v1/stores", headers, fmt(
    '{"external_id":"bench-store-%03d","name":"Bench store %d (rev %d)"}', s, s, n))
end

function response(status, hdrs, body)
  sg.count_response(status, body, "read")
end
