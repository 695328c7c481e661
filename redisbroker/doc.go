// Package redisbroker lets several ssevent hubs, in several processes,
// act as one hub over Redis: a server.ClusterBroker built on
// github.com/redis/go-redis/v9. Give each Hub its own Broker on the same
// Redis and key prefix:
//
//	b, err := redisbroker.FromURL(os.Getenv("REDIS_URL"), redisbroker.Options{})
//	if err != nil { ... }
//	hub := server.New(server.Config{Broker: b})
//
// Then Send, SendTo and Broadcast on any hub reach the matching clients on
// every hub once, in id order; a POST that lands on another hub than the
// client's stream works; a client resumes its session on any hub;
// ClientCount and ClientsByChannel count every live hub.
//
// Publishing runs one Lua script that takes the next id from a counter,
// appends the message to its topic's history (a stream capped by
// Config.HistorySize and trimmed by Config.HistoryTTL) and to a shared log
// (a stream of about Options.LogSize entries). Each hub reads the log with
// a blocking XREAD on a goroutine of its own, so it receives every message
// in id order and, after losing Redis for a while, goes on from where it
// was. docs/REDIS.md lists the keys, the guarantees and what happens when
// Redis goes away.
//
// # Concurrency
//
// A Broker serves one Hub; its methods are safe for concurrent use, and
// none holds a lock while it waits for Redis. Each call to Redis is bounded
// by Options.Timeout: one that Redis does not answer in time (down,
// hanging, unreachable) fails with an error wrapping ErrUnavailable, which
// wraps server.ErrUnavailable, so the Hub's Send returns that error while
// Redis is down, within the bound. A hub starts while Redis is down, and
// the broker reaches Redis by itself once it answers. The hub's streams do
// not depend on Redis: clients stay connected and get what was published
// meanwhile once Redis is back.
//
// Event ids carry an epoch (Broker.Epoch) kept in Redis next to the id
// counter: a Redis that lost its data starts a new one, and the hubs end
// their streams so that clients learn of the gap.
package redisbroker
