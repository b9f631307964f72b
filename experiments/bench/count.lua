-- The counting loop of `frugal bench vm`, for Lua 5.4.
-- usage: lua5.4 count.lua N [hook]   prints: seconds instructions_per_iteration
local n = math.tointeger(tonumber(arg[1]))
local hooked = arg[2] == "hook"

local function loop(k)
  local i = k
  while i ~= 0 do i = i - 1 end
  return i
end

-- Count Lua VM instructions per iteration with a count hook of 1.
local count = 0
debug.sethook(function() count = count + 1 end, "", 1)
loop(1000)
debug.sethook()
local base = count
count = 0
debug.sethook(function() count = count + 1 end, "", 1)
loop(2000)
debug.sethook()
local per_iter = (count - base) / 1000

-- A metered Lua: a count hook every 1000 instructions.
if hooked then debug.sethook(function() end, "", 1000) end
local t0 = os.clock()
loop(n)
local t = os.clock() - t0
debug.sethook()
print(string.format("%.6f %.3f", t, per_iter))
