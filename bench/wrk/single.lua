-- POST one Noticia sales event per request (bench/wrk/sgbench.lua makes the
-- bodies: unique external_ids, SGB_DUP_PCT replays, SGB_RETURN_PCT returns).
-- Also drives the two baselines with the same bodies and headers:
--   SGB_METHOD  POST (default) or PUT (webdis takes the body as the last
--               argument only on PUT)
--   SGB_PATH    default /v1/sales-events
--   SGB_MODE    "webdis" counts bodies with [false,...] as failures
package.path = (os.getenv("SGB_WRK_DIR") or "bench/wrk") .. "/?.lua;" .. package.path
local sg = require("sgbench")

local method = os.getenv("SGB_METHOD") or "POST"
local path = os.getenv("SGB_PATH") or "/v1/sales-events"
local mode = os.getenv("SGB_MODE") or "single"
local headers = { ["Content-Type"] = "application/json", ["x-api-key"] = sg.key }

setup = sg.setup
done = sg.done

function init(args)
  sg.thread_init()
end

function request()
  return wrk.format(method, path, headers, sg.next_single())
end

function response(status, hdrs, body)
  sg.count_response(status, body, mode)
end
