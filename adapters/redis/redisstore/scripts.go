package redisstore

import "github.com/redis/go-redis/v9"

// The Lua scripts make each accepted change one atomic step in Redis: the
// seq, the timestamp, the pixel, its metadata, the history entry and the
// publication happen together or not at all, and, since Redis runs one
// script at a time, publication order is seq order.
//
// Numbers: seq and µs timestamps are integers below 2^53, so Lua's doubles
// hold them exactly, but tostring (and cjson) print only 14 significant
// digits, which turns a 16-digit timestamp into 1.7637815651235e+15. Every
// number that leaves the script is therefore formatted with '%.0f'.
//
// Keys (all in the canvas's slot, see Keys): KEYS[1] seq, KEYS[2] ts, KEYS[3] pixels,
// KEYS[4] meta, KEYS[5] history.

// nextStamp is shared by both scripts: it advances seq and the timestamp by
// domain.NextTimestamp's rule (the clock if it moved forward, else one
// microsecond after the last), using Redis's clock so every API process
// stamps against the same one.
const nextStamp = `
local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local function fmt(n) return string.format('%.0f', n) end
local last_ts = tonumber(redis.call('GET', KEYS[2]) or '0')
local now = now_us()
local function stamp()
  local seq = redis.call('INCR', KEYS[1])
  local ts = now
  if ts <= last_ts then ts = last_ts + 1 end
  last_ts = ts
  return fmt(seq), fmt(ts)
end
local function record(seq, event, channel)
  redis.call('ZADD', KEYS[5], seq, event)
  redis.call('PUBLISH', channel, event)
end
local function finish(keep)
  redis.call('SET', KEYS[2], fmt(last_ts))
  if keep > 0 then redis.call('ZREMRANGEBYRANK', KEYS[5], 0, -keep - 1) end
end
`

// placeScript: ARGV[1] history size, ARGV[2] channel, ARGV[3] the latest
// Redis time (µs) at which the writes may still be applied (see
// deadline.go), then four arguments per write: pixel index, its 3 colour
// bytes already XORed with 0xFF, the username, and busmsg.PixelBody.
// Returns seq, ts pairs as strings, or the error LATE, having written
// nothing.
var placeScript = redis.NewScript(nextStamp + `
local keep, channel, deadline = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
if now > deadline then
  return redis.error_reply('LATE by ' .. fmt(now - deadline) .. ' us: not applied')
end
local out = {}
for i = 4, #ARGV, 4 do
  local index, rgb, user, body = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local seq, ts = stamp()
  redis.call('SETRANGE', KEYS[3], tonumber(index) * 3, rgb)
  redis.call('HSET', KEYS[4], index, seq .. ':' .. ts .. ':' .. user)
  local event = '{"k":"p","seq":' .. seq .. ',"ts":' .. ts .. ',' .. body .. '}'
  record(seq, event, channel)
  out[#out + 1] = seq
  out[#out + 1] = ts
end
finish(keep)
return out
`)

// resetScript: ARGV[1] history size, ARGV[2] channel, ARGV[3]
// busmsg.ResetBody. Deleting the pixels makes every pixel read white (absent
// bytes are white after the XOR) in O(1) for the caller.
var resetScript = redis.NewScript(nextStamp + `
local keep, channel, body = tonumber(ARGV[1]), ARGV[2], ARGV[3]
redis.call('DEL', KEYS[3], KEYS[4])
local seq, ts = stamp()
local event = '{"k":"r","seq":' .. seq .. ',"ts":' .. ts .. ',' .. body .. '}'
record(seq, event, channel)
finish(keep)
return {seq, ts}
`)
