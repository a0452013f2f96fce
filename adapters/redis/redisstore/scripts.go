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
// KEYS[4] meta, KEYS[5] history, KEYS[6] epoch.

// timeline is the part every script starts with (see epoch.go): it reads
// the canvas's epoch and, when the Redis serving it is not the one the
// epoch was made on (its replication id differs: it restarted, or it is a
// replica that was promoted) or the canvas has no epoch (its keys vanished,
// or it predates epochs), starts a new one named fresh, with its base, in
// the same atomic step as whatever the script does next. The replication
// id comes from INFO, which a script may call (it has no keys, so Redis
// Cluster routes the script by the canvas's keys as before).
const timeline = `
local function fmt(n) return string.format('%.0f', n) end
local function server_identity()
  local id = string.match(redis.call('INFO', 'replication'), 'master_replid:(%w+)')
  if id then return id end
  return 'run:' .. (string.match(redis.call('INFO', 'server'), 'run_id:(%w+)') or '?')
end
local function timeline(fresh)
  local e = redis.call('HMGET', KEYS[6], 'id', 'who', 'base')
  local who = server_identity()
  local head = tonumber(redis.call('GET', KEYS[1]) or '0')
  if e[1] and e[2] == who then return e[1], e[3], head end
  local base = head
  if e[1] then base = math.min(tonumber(e[3]) or 0, head) end
  base = fmt(base)
  redis.call('HSET', KEYS[6], 'id', fresh, 'who', who, 'base', base)
  return fresh, base, head
end
`

// nextStamp is shared by both write scripts: it advances seq and the
// timestamp by domain.NextTimestamp's rule (the clock if it moved forward,
// else one microsecond after the last), using Redis's clock so every API
// process stamps against the same one.
const nextStamp = timeline + `
local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
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
// deadline.go), ARGV[4] the epoch to start if one must be started (see
// timeline), then four arguments per write: pixel index, its colour as
// the decimal 24-bit number of its bytes already XORed with 0xFF, the
// username, and busmsg.PixelBody. Returns the epoch and the first write's
// seq and ts as strings, or the error LATE, having written nothing: the
// other writes' follow one by one (seqs from one INCRBY; timestamps from
// one clock reading, each one after the last), so the caller derives them
// instead of Redis sending 2 strings per write.
//
// Every redis.call has a fixed cost (arguments into Redis objects, the
// reply back into Lua) well above what the simple commands themselves
// cost, so the script makes five calls per batch whatever its size (group
// commit makes batches of dozens): one INCRBY for the seqs, one BITFIELD
// for the pixels (SET u24 #i writes bytes 3i..3i+2, exactly SETRANGE's
// layout, in order, so a pixel written twice in the batch keeps its last
// write), one HSET for the metadata, one ZADD for the history (one entry
// per event, as Since reads it) and one PUBLISH for the whole batch
// (busmsg.EncodeEvents' form: the events one per line). Seqs and
// timestamps are the same as one write at a time would give. unpack takes
// at most 4 × maxWritesPerScript (4,000) values, below its limit (8,000).
var placeScript = redis.NewScript(nextStamp + `
local keep, channel, deadline = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
if now > deadline then
  return redis.error_reply('LATE by ' .. fmt(now - deadline) .. ' us: not applied')
end
local epoch = timeline(ARGV[4])
local head = '{"k":"p","e":"' .. epoch .. '","seq":'
local n = (#ARGV - 4) / 4
local seq = tonumber(redis.call('INCRBY', KEYS[1], n)) - n
local bits, meta, history, events = {}, {}, {}, {}
local first_seq, first_ts = '', ''
for w = 1, n do
  local a = 4 * w + 1 -- this write's first argument
  local index, rgb, user, body = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  seq = seq + 1
  local ts = now
  if ts <= last_ts then ts = last_ts + 1 end
  last_ts = ts
  local s, t = fmt(seq), fmt(ts)
  if w == 1 then first_seq, first_ts = s, t end
  local event = head .. s .. ',"ts":' .. t .. ',' .. body .. '}'
  local b, p = 4 * w - 3, 2 * w - 1 -- its first slot in bits, in the pair lists
  bits[b], bits[b + 1], bits[b + 2], bits[b + 3] = 'SET', 'u24', '#' .. index, rgb
  meta[p], meta[p + 1] = index, s .. ':' .. t .. ':' .. user
  history[p], history[p + 1] = s, event
  events[w] = event
end
if n > 0 then
  redis.call('BITFIELD', KEYS[3], unpack(bits))
  redis.call('HSET', KEYS[4], unpack(meta))
  redis.call('ZADD', KEYS[5], unpack(history))
  redis.call('PUBLISH', channel, table.concat(events, '\n'))
end
finish(keep)
return {epoch, first_seq, first_ts}
`)

// resetScript: ARGV[1] history size, ARGV[2] channel, ARGV[3]
// busmsg.ResetBody, ARGV[4] the epoch to start if one must be. Deleting
// the pixels makes every pixel read white (absent bytes are white after
// the XOR) in O(1) for the caller. Returns the epoch, seq and ts.
var resetScript = redis.NewScript(nextStamp + `
local keep, channel, body = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local epoch = timeline(ARGV[4])
redis.call('DEL', KEYS[3], KEYS[4])
local seq, ts = stamp()
local event = '{"k":"r","e":"' .. epoch .. '","seq":' .. seq .. ',"ts":' .. ts .. ',' .. body .. '}'
record(seq, event, channel)
finish(keep)
return {epoch, seq, ts}
`)

// headScript: ARGV[1] the epoch to start if one must be. Returns the
// latest seq, the epoch and its base, as strings. Snapshot runs it in the
// same MULTI as its read of the pixels.
var headScript = redis.NewScript(timeline + `
local epoch, base, head = timeline(ARGV[1])
return {fmt(head), epoch, base}
`)

// sinceScript: ARGV[1] the epoch to start if one must be, ARGV[2] the seq
// after which events are wanted, ARGV[3] how many at most (0: all kept).
// Returns the latest seq, the epoch, its base, the oldest seq history
// keeps ("" when it is empty), then the events.
var sinceScript = redis.NewScript(timeline + `
local epoch, base, head = timeline(ARGV[1])
local oldest = redis.call('ZRANGE', KEYS[5], 0, 0, 'WITHSCORES')
local out = {fmt(head), epoch, base, oldest[2] or ''}
local events
if tonumber(ARGV[3]) > 0 then
  events = redis.call('ZRANGEBYSCORE', KEYS[5], '(' .. ARGV[2], '+inf', 'LIMIT', 0, ARGV[3])
else
  events = redis.call('ZRANGEBYSCORE', KEYS[5], '(' .. ARGV[2], '+inf')
end
for i = 1, #events do out[#out + 1] = events[i] end
return out
`)
