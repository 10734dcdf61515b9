-- POST the sign form as a browser would: the session cookie and CSRF token taken
-- from the page, the form's fields, a distinct email per request, and (behind
-- PETITION_PROXY_HOPS=1) a distinct client address, so the limiter does not refuse.
-- Arguments: path cookie csrf run-prefix [extra form fields]
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua"
require("report")

local path, cookie, csrf, prefix, extra
local counter = 0

function init(args)
  path, cookie, csrf, prefix, extra = args[1], args[2], args[3], args[4], args[5] or ""
end

function request()
  counter = counter + 1
  local body = "csrf_token=" .. csrf .. "&name=Bench+Signer&country=SY&postcode=1010" ..
    "&email=" .. string.format("s%s-%d-%d%%40example.org", prefix, id, counter) .. extra
  local headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = cookie,
    ["X-Forwarded-For"] = string.format("2001:db8:%x:%x::%x", id, math.floor(counter / 65536), counter % 65536),
  }
  return wrk.format("POST", path, headers, body)
end
