package redisbroker

import (
	"strings"

	"github.com/redis/go-redis/v9"
)

// luaTime holds the helpers every script may use.
const luaTime = `
local function fmt(n) return string.format('%.0f', n) end
local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
`

// Every script that publishes starts with KEYS[1] = the id counter,
// KEYS[2] = the first id, KEYS[3] = the log, KEYS[4] = the epoch, and
// ARGV[1] = a new epoch, and appends one log entry: ids come from the
// counter, never below the Redis clock in microseconds, so that ids keep
// growing across a Redis restart that lost its data, and a message's id
// is never below its publication time (which the age trimming relies on).
// A counter that is gone (Redis lost its data) starts a new epoch; an
// epoch alone that is gone is set as SET NX would. Each log entry holds p,
// the id of the entry before it, so that a reader sees when it missed
// some, and e, its epoch, so that a reader sees where a new sequence
// starts.
const luaPrelude = luaTime + `
local function next_id(now)
  local prev = redis.call('GET', KEYS[1])
  local epoch
  if not prev then
    prev, epoch = '0', ARGV[1]
    redis.call('SET', KEYS[4], epoch)
  else
    epoch = redis.call('GET', KEYS[4])
    if not epoch then
      epoch = ARGV[1]
      redis.call('SET', KEYS[4], epoch)
    end
  end
  local id = tonumber(prev) + 1
  if id < now then id = now end
  local sid = fmt(id)
  redis.call('SET', KEYS[1], sid)
  redis.call('SET', KEYS[2], sid, 'NX')
  return sid, prev, epoch
end
local function log_add(sid, prev, epoch, logsize, msg)
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', logsize, sid .. '-0', 'p', prev, 'e', epoch, 'm', msg)
end
`

func script(body string) *redis.Script { return redis.NewScript(luaPrelude + body) }

// stateScript reads the id counter (KEYS[1]) and the epoch (KEYS[2]),
// creating them when missing: a counter that is gone (a new Redis, or one
// that lost its data) starts at 0 in a new epoch, ARGV[1]; an epoch alone
// that is gone is set as with SET NX. Returns {counter, epoch}.
var stateScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('SET', KEYS[1], '0')
  redis.call('SET', KEYS[2], ARGV[1])
else
  redis.call('SET', KEYS[2], ARGV[1], 'NX')
end
return {redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2])}
`)

// publishScript: KEYS[5], when present, is the topic's history stream.
// ARGV[2...]: message, history size, history TTL (µs), log size, stream
// expiry (ms). Each history entry holds p, the id of the entry before it
// in the topic (or the age cutoff when there was none), so that the first
// entry held tells what was dropped before it. Returns the id.
var publishScript = script(`
local now = now_us()
local sid, prev, epoch = next_id(now)
if #KEYS >= 5 then
  local k = KEYS[5]
  local cutoff = fmt(now - tonumber(ARGV[4]))
  local p = cutoff
  local l = redis.call('XREVRANGE', k, '+', '-', 'COUNT', 1)
  if #l > 0 then p = string.match(l[1][1], '^%d+') end
  redis.call('XTRIM', k, 'MINID', cutoff)
  redis.call('XADD', k, 'MAXLEN', ARGV[3], sid .. '-0', 'p', p, 'm', ARGV[2])
  redis.call('PEXPIRE', k, ARGV[6])
end
log_add(sid, prev, epoch, ARGV[5], ARGV[2])
return sid
`)

// historyScript: KEYS[1] the id counter, KEYS[2] the first id, KEYS[3...]
// topic streams. ARGV: after, history TTL (µs), limit (0: none). Returns
// {gap, id, message, id, message...}: the first limit messages above
// after, in id order, merged from the topics, of which it reads no more
// than limit each.
var historyScript = redis.NewScript(luaTime + `
local after = tonumber(ARGV[1])
local limit = tonumber(ARGV[3])
local cutoff = now_us() - tonumber(ARGV[2])
local seq = tonumber(redis.call('GET', KEYS[1]) or '0')
local first = tonumber(redis.call('GET', KEYS[2]) or '0')
local gap = 0
if first == 0 or after < first or after > seq then gap = 1 end
local from = '(' .. fmt(after) .. '-0'
local lists = {}
for i = 3, #KEYS do
  local k = KEYS[i]
  if redis.call('EXISTS', k) == 1 then
    redis.call('XTRIM', k, 'MINID', fmt(cutoff))
  end
  local f = redis.call('XRANGE', k, '-', '+', 'COUNT', 1)
  if #f == 0 then
    redis.call('DEL', k)
    if after < cutoff then gap = 1 end
  else
    if after < tonumber(f[1][2][2]) then gap = 1 end
    local l
    if limit > 0 then
      l = redis.call('XRANGE', k, from, '+', 'COUNT', limit)
    else
      l = redis.call('XRANGE', k, from, '+')
    end
    if #l > 0 then lists[#lists + 1] = l end
  end
end
local function id_of(e) return tonumber(string.match(e[1], '^%d+')) end
local at, head = {}, {}
for j, l in ipairs(lists) do at[j] = 1; head[j] = id_of(l[1]) end
local out = {gap}
local n = 0
while limit == 0 or n < limit do
  local best = nil
  for j = 1, #lists do
    if head[j] and (best == nil or head[j] < head[best]) then best = j end
  end
  if best == nil then break end
  local l = lists[best]
  local e = l[at[best]]
  out[#out + 1] = e[1]
  out[#out + 1] = e[2][4]
  n = n + 1
  at[best] = at[best] + 1
  if l[at[best]] then head[best] = id_of(l[at[best]]) else head[best] = nil end
end
return out
`)

// updateScript: KEYS[5] is the session record. ARGV[2...]: op ("s" or
// "u"), max channels, log size, command prefix, channels... Returns the
// set afterwards; errors UNKNOWN or TOOMANY <n>.
var updateScript = script(`
local rec = KEYS[5]
if redis.call('EXISTS', rec) == 0 then return redis.error_reply('UNKNOWN') end
local set, list = {}, {}
local cur = redis.call('HGET', rec, 'c') or ''
for ch in string.gmatch(cur, '[^\n]+') do
  if not set[ch] then set[ch] = true; list[#list + 1] = ch end
end
local n = #list
local changed = {}
for i = 6, #ARGV do
  local ch = ARGV[i]
  if ARGV[2] == 's' then
    if not set[ch] then set[ch] = true; n = n + 1 end
  else
    set[ch] = nil
  end
  changed[#changed + 1] = ch
end
if ARGV[2] == 's' and n > tonumber(ARGV[3]) then
  return redis.error_reply('TOOMANY ' .. n)
end
local out = {}
for ch, _ in pairs(set) do out[#out + 1] = ch end
table.sort(out)
redis.call('HSET', rec, 'c', table.concat(out, '\n'))
local sid, prev, epoch = next_id(now_us())
log_add(sid, prev, epoch, ARGV[4], ARGV[5] .. table.concat(changed, '\n'))
return out
`)

// endScript: KEYS[5] is the session record, KEYS[6] its private history.
// ARGV[2...]: log size, command. Error UNKNOWN when there is no record.
var endScript = script(`
if redis.call('EXISTS', KEYS[5]) == 0 then return redis.error_reply('UNKNOWN') end
redis.call('DEL', KEYS[5], KEYS[6])
local sid, prev, epoch = next_id(now_us())
log_add(sid, prev, epoch, ARGV[2], ARGV[3])
return sid
`)

// commandScript: KEYS[5], when present, is a session record whose expiry
// to set. ARGV[2...]: log size, command, and, with a record, its expiry
// (ms) and the hub that now holds the session's stream: it becomes the
// record's owner, in the same step as the command that tells the other
// hubs.
var commandScript = script(`
if #KEYS >= 5 then
  redis.call('PEXPIRE', KEYS[5], ARGV[4])
  if ARGV[5] and redis.call('EXISTS', KEYS[5]) == 1 then redis.call('HSET', KEYS[5], 'o', ARGV[5]) end
end
local sid, prev, epoch = next_id(now_us())
log_add(sid, prev, epoch, ARGV[2], ARGV[3])
return sid
`)

// saveScript stores a session record on behalf of a hub, unless another
// hub owns it: a hub that lost the session's stream to another may save
// late, and must not overwrite what the new owner changed since.
// KEYS[1] is the record. ARGV: hub, channels, cursor, expiry (ms), the
// identity the session is bound to, the hash of its key. Returns 1 when
// saved, 0 when another hub owns the record.
var saveScript = redis.NewScript(`
local o = redis.call('HGET', KEYS[1], 'o')
if o and o ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'o', ARGV[1], 'c', ARGV[2], 'l', ARGV[3], 'u', ARGV[5], 'k', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`)

// presenceScripts list the live hubs. KEYS[1] is the set of hubs, scored
// by expiry (ms); ARGV[1] the hub key prefix.
const luaLive = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local nodes = redis.call('ZRANGE', KEYS[1], 0, -1)
`

// countScript returns the number of streams of the live hubs.
var countScript = redis.NewScript(luaLive + `
local n = 0
for _, node in ipairs(nodes) do n = n + redis.call('HLEN', ARGV[1] .. node) end
return n
`)

// byChannelScript: ARGV[2] the channel. Returns the ids of the clients of
// the live hubs subscribed to it.
var byChannelScript = redis.NewScript(luaLive + `
local want = '\n' .. ARGV[2] .. '\n'
local out = {}
for _, node in ipairs(nodes) do
  local h = redis.call('HGETALL', ARGV[1] .. node)
  for i = 1, #h, 2 do
    if string.find(h[i + 1], want, 1, true) then out[#out + 1] = h[i] end
  end
end
return out
`)

// channelsScript: ARGV[2] the name the listing starts after, ARGV[3] the
// most channels to return. Returns, sorted by name (byte order, as Go's),
// pairs of a channel and its number of subscribers with a stream on a
// live hub.
var channelsScript = redis.NewScript(luaLive + `
local after, limit = ARGV[2], tonumber(ARGV[3])
local counts = {}
for _, node in ipairs(nodes) do
  local h = redis.call('HGETALL', ARGV[1] .. node)
  for i = 2, #h, 2 do
    for ch in string.gmatch(h[i], '[^\n]+') do
      if ch > after then counts[ch] = (counts[ch] or 0) + 1 end
    end
  end
end
local names = {}
for ch in pairs(counts) do names[#names + 1] = ch end
table.sort(names)
local out = {}
for i = 1, math.min(#names, limit) do
  out[#out + 1] = names[i]
  out[#out + 1] = counts[names[i]]
end
return out
`)

// The presence scripts store one hub's streams. KEYS[1] the set of hubs,
// KEYS[2] this hub's hash. ARGV: hub id, expiry (ms), record expiry (ms),
// record key prefix, then what each script takes.
//
// The hub's score in the set is its expiry, and also the token of the
// hub's last store: each store sets it strictly above the one before (by
// a millisecond when the clock has not moved on), and returns it, so that
// the next store can tell that the hash is still what this hub last
// wrote. The hash expires with the score (PEXPIREAT), so a score still
// ahead of the clock also means the hash has not expired.
const luaPresence = luaTime + `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cur = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]))
local function stamp()
  local s = now + tonumber(ARGV[2])
  if cur and s <= cur then s = cur + 1 end
  redis.call('ZADD', KEYS[1], fmt(s), ARGV[1])
  return s
end
`

// presenceScript stores one hub's streams whole: the hash is replaced by
// the pairs of client id and "\n"-framed channels in ARGV[5...], and the
// records of those sessions get their expiry pushed back. It runs at a
// hub's first store, and after a store that failed or found the hash not
// as the hub left it. Returns the hub's new score.
var presenceScript = redis.NewScript(luaPresence + `
local s = stamp()
redis.call('UNLINK', KEYS[2])
for i = 5, #ARGV, 2 do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  redis.call('PEXPIRE', ARGV[4] .. ARGV[i], ARGV[3])
end
redis.call('PEXPIREAT', KEYS[2], fmt(s))
return fmt(s)
`)

// presenceChangeScript stores what changed in one hub's streams since its
// last store, when the hash is as that store left it: the score is the
// one it returned (ARGV[5]) and still ahead of the clock, and the hash
// holds as many fields as it left (ARGV[6]). ARGV[7] and ARGV[8] are how
// many sessions to set and to delete; then the pairs of client id and
// framed channels to set (their records get their expiry pushed back),
// the ids to delete, and the ids of the other sessions whose records'
// expiry to push back. Returns the hub's new score, or "" when the hash
// is not as expected (it expired, was evicted or deleted, or Redis lost
// or restored data): then nothing changed, and the hub stores it whole.
var presenceChangeScript = redis.NewScript(luaPresence + `
if cur == nil or cur ~= tonumber(ARGV[5]) or cur <= now or redis.call('HLEN', KEYS[2]) ~= tonumber(ARGV[6]) then
  return ''
end
local s = stamp()
local i = 9
for _ = 1, tonumber(ARGV[7]) do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  redis.call('PEXPIRE', ARGV[4] .. ARGV[i], ARGV[3])
  i = i + 2
end
for _ = 1, tonumber(ARGV[8]) do
  redis.call('HDEL', KEYS[2], ARGV[i])
  i = i + 1
end
for j = i, #ARGV do
  redis.call('PEXPIRE', ARGV[4] .. ARGV[j], ARGV[3])
end
redis.call('PEXPIREAT', KEYS[2], fmt(s))
return fmt(s)
`)

// leaveScript removes a hub from the presence: KEYS[1] the set of hubs,
// KEYS[2] the hub's hash, ARGV[1] the hub's id.
var leaveScript = redis.NewScript(`
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
return 1
`)

// frameChannels joins channel names as the presence hash holds them.
func frameChannels(chs []string) string {
	return "\n" + strings.Join(chs, "\n") + "\n"
}
