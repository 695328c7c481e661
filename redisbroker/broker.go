package redisbroker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/ssevent/ssevent/server"
)

// ErrUnavailable wraps every error that comes from Redis not answering (or
// answering with an error): the call did not take effect, or, for a
// timeout, may have. Test for it with errors.Is.
var ErrUnavailable = errors.New("redisbroker: redis unavailable")

// Defaults applied to zero Options fields.
const (
	DefaultPrefix           = "ssevent:"
	DefaultLogSize          = 10000
	DefaultPresenceInterval = time.Second
	DefaultPresenceSync     = 100 * time.Millisecond
	DefaultReadBlock        = time.Second
)

// Options configure a Broker. The zero value means the defaults.
type Options struct {
	// Prefix starts every key and the names Redis shows for this
	// broker. Hubs that act as one use the same prefix; different
	// prefixes share a Redis without meeting. Defaults to "ssevent:".
	Prefix string
	// LogSize is about how many messages the shared log keeps for a hub
	// whose connection to Redis dropped, so that it can deliver what was
	// published meanwhile. A hub that misses more ends its streams and
	// its clients replay from the history. Defaults to 10000.
	LogSize int64
	// PresenceInterval is how often a hub tells Redis which streams it
	// holds, even when nothing changed. A hub that stops doing so (it
	// died) drops out of ClientCount and ClientsByChannel after
	// PresenceTTL. Defaults to 1s.
	PresenceInterval time.Duration
	// PresenceTTL is how long a hub's presence lasts without a refresh.
	// Defaults to 3 × PresenceInterval.
	PresenceTTL time.Duration
	// PresenceSync is how often a hub looks for changes of its streams
	// to tell Redis: the delay of ClientCount and ClientsByChannel.
	// Defaults to 100ms.
	PresenceSync time.Duration
	// ReadBlock bounds one blocking read of the log; it is also the
	// longest Close waits for the reader. Defaults to 1s.
	ReadBlock time.Duration
	// Logger receives the broker's records (Redis lost and back).
	// Defaults to slog.Default().
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.LogSize <= 0 {
		o.LogSize = DefaultLogSize
	}
	if o.PresenceInterval <= 0 {
		o.PresenceInterval = DefaultPresenceInterval
	}
	if o.PresenceTTL <= 0 {
		o.PresenceTTL = 3 * o.PresenceInterval
	}
	if o.PresenceSync <= 0 {
		o.PresenceSync = min(DefaultPresenceSync, o.PresenceInterval)
	}
	if o.ReadBlock <= 0 {
		o.ReadBlock = DefaultReadBlock
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Broker is a server.ClusterBroker on Redis. Each Hub needs its own
// Broker; Brokers with the same Prefix on the same Redis make their hubs
// act as one. All methods are safe for concurrent use.
type Broker struct {
	rdb  redis.UniversalClient
	own  bool // close rdb on Close
	opts Options
	node string // this hub's id in the presence set
	log  *slog.Logger

	keySeq, keyFirst, keyLog, keyNodes string

	mu      sync.Mutex
	started bool
	closed  bool
	bopts   server.BrokerOptions
	pos     uint64 // the counter when this hub joined
	hasPos  bool
	cancel  context.CancelFunc
	done    sync.WaitGroup
}

var (
	_ server.Broker        = (*Broker)(nil)
	_ server.ClusterBroker = (*Broker)(nil)
	_ server.Positioner    = (*Broker)(nil)
)

// New returns a Broker on rdb. Closing the Broker does not close rdb.
func New(rdb redis.UniversalClient, opts Options) *Broker {
	opts = opts.withDefaults()
	p := opts.Prefix
	return &Broker{
		rdb: rdb, opts: opts, node: uuid.NewString(), log: opts.Logger,
		keySeq: p + "seq", keyFirst: p + "first", keyLog: p + "log", keyNodes: p + "nodes",
	}
}

// FromURL returns a Broker on a client it makes from a Redis URL
// ("redis://user:pass@host:6379/0", "rediss://..." or
// "unix:///path/redis.sock"), which Close closes. It does not contact
// Redis; the Hub's start does.
func FromURL(url string, opts Options) (*Broker, error) {
	o, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redisbroker: %w", err)
	}
	b := New(redis.NewClient(o), opts)
	b.own = true
	return b, nil
}

func unavailable(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

func (b *Broker) topicKey(t server.Topic) string {
	switch t.Kind {
	case server.TopicChannel:
		return b.opts.Prefix + "t:c:" + t.Name
	case server.TopicClient:
		return b.opts.Prefix + "t:u:" + t.Name
	default:
		return b.opts.Prefix + "t:all"
	}
}

func (b *Broker) recordKey(id string) string { return b.opts.Prefix + "s:" + id }
func (b *Broker) nodeKey(node string) string { return b.opts.Prefix + "n:" + node }

// Position returns the id of the last message published through the
// shared Redis, and the position this hub starts reading from.
func (b *Broker) Position() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.hasPos {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := b.loadPos(ctx); err != nil {
			b.log.Warn("redisbroker: reading the position", "err", err)
		}
	}
	return b.pos
}

func (b *Broker) loadPos(ctx context.Context) error {
	s, err := b.rdb.Get(ctx, b.keySeq).Result()
	switch {
	case errors.Is(err, redis.Nil):
		b.pos = 0
	case err != nil:
		return unavailable(err)
	default:
		if b.pos, err = strconv.ParseUint(s, 10, 64); err != nil {
			return fmt.Errorf("redisbroker: %s holds %q", b.keySeq, s)
		}
	}
	b.hasPos = true
	return nil
}

// Start attaches a hub that is not a cluster member: messages only.
func (b *Broker) Start(opts server.BrokerOptions, deliver func(server.Message)) error {
	return b.StartCluster(opts, deliver, server.ClusterHooks{})
}

// StartCluster attaches the hub: it reads the shared log from the current
// position on, and keeps the hub's presence.
func (b *Broker) StartCluster(opts server.BrokerOptions, deliver func(server.Message), hooks server.ClusterHooks) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
		return server.ErrClosed
	case b.started:
		return errors.New("redisbroker: a Broker serves one Hub")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if !b.hasPos {
		if err := b.loadPos(ctx); err != nil {
			return err
		}
	}
	b.started, b.bopts = true, opts
	rctx, rcancel := context.WithCancel(context.Background())
	b.cancel = rcancel
	b.done.Add(1)
	go b.readLoop(rctx, b.pos, deliver, hooks)
	if hooks.Presence != nil {
		b.done.Add(1)
		go b.presenceLoop(rctx, hooks.Presence)
	}
	return nil
}

// Close stops reading, removes this hub's presence, and closes the Redis
// client when FromURL made it. It is idempotent.
func (b *Broker) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	cancel := b.cancel
	b.mu.Unlock()
	if cancel != nil {
		cancel()
		b.done.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = b.rdb.ZRem(ctx, b.keyNodes, b.node).Err()
		_ = b.rdb.Del(ctx, b.nodeKey(b.node)).Err()
		cancel()
	}
	if b.own {
		return b.rdb.Close()
	}
	return nil
}

func (b *Broker) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

// Publish runs one script that gives msg the next id, appends it to its
// topic's history and to the shared log, atomically: every hub reads the
// log in the order Redis ran the scripts, which is id order.
func (b *Broker) Publish(ctx context.Context, msg server.Message) (uint64, error) {
	if b.isClosed() {
		return 0, server.ErrClosed
	}
	keys := []string{b.keySeq, b.keyFirst, b.keyLog}
	if b.bopts.HistorySize > 0 {
		keys = append(keys, b.topicKey(msg.Topic))
	}
	ttl := b.bopts.HistoryTTL
	s, err := publishScript.Run(ctx, b.rdb, keys, packMessage(msg), b.bopts.HistorySize,
		ttl.Microseconds(), b.opts.LogSize, (ttl + time.Second).Milliseconds()).Text()
	if err != nil {
		return 0, unavailable(err)
	}
	return strconv.ParseUint(s, 10, 64)
}

// History reads the held messages of topics after an id, with one script
// so that what it returns is one moment's state. The script merges the
// topics and returns the first limit messages only: a long history is not
// read to return a few.
func (b *Broker) History(ctx context.Context, topics []server.Topic, after uint64, limit int) ([]server.Message, bool, error) {
	if b.isClosed() {
		return nil, false, server.ErrClosed
	}
	if after == 0 {
		return nil, false, nil
	}
	keys := make([]string, 0, len(topics)+2)
	keys = append(keys, b.keySeq, b.keyFirst)
	for _, t := range topics {
		keys = append(keys, b.topicKey(t))
	}
	res, err := historyScript.Run(ctx, b.rdb, keys, after, b.bopts.HistoryTTL.Microseconds(), max(limit, 0)).Slice()
	if err != nil {
		return nil, false, unavailable(err)
	}
	if len(res) == 0 {
		return nil, false, errors.New("redisbroker: the history script returned nothing")
	}
	gap := res[0] == int64(1)
	msgs := make([]server.Message, 0, (len(res)-1)/2)
	for i := 1; i+1 < len(res); i += 2 {
		id, _ := res[i].(string)
		data, _ := res[i+1].(string)
		m, ok := unpackMessage(id, data)
		if !ok {
			return nil, false, fmt.Errorf("redisbroker: malformed history entry %q", id)
		}
		msgs = append(msgs, m)
	}
	return msgs, gap, nil
}

// Forget drops a topic's history.
func (b *Broker) Forget(ctx context.Context, t server.Topic) error {
	return unavailable(b.rdb.Del(ctx, b.topicKey(t)).Err())
}

// SaveSession stores a session's record.
func (b *Broker) SaveSession(ctx context.Context, id string, rec server.SessionRecord, ttl time.Duration) error {
	if ttl <= 0 {
		ttl = b.opts.PresenceTTL + b.bopts.ResumeWindow
	}
	// A record another hub owns (it took the stream over) is left as it
	// is: this save comes too late.
	err := saveScript.Run(ctx, b.rdb, []string{b.recordKey(id)}, b.node,
		strings.Join(rec.Channels, "\n"), strconv.FormatUint(rec.Cursor, 10), ttl.Milliseconds()).Err()
	return unavailable(err)
}

// LoadSession returns a session's record.
func (b *Broker) LoadSession(ctx context.Context, id string) (server.SessionRecord, bool, error) {
	v, err := b.rdb.HGetAll(ctx, b.recordKey(id)).Result()
	if err != nil {
		return server.SessionRecord{}, false, unavailable(err)
	}
	if len(v) == 0 {
		return server.SessionRecord{}, false, nil
	}
	var rec server.SessionRecord
	if c := v["c"]; c != "" {
		rec.Channels = strings.Split(c, "\n")
	}
	rec.Cursor, _ = strconv.ParseUint(v["l"], 10, 64)
	return rec, true, nil
}

// UpdateSession changes a session's channels and sends the command.
func (b *Broker) UpdateSession(ctx context.Context, id string, op server.CommandOp, channels []string, maxChannels int) ([]string, error) {
	var o string
	switch op {
	case server.CommandSubscribe:
		o = "s"
	case server.CommandUnsubscribe:
		o = "u"
	default:
		return nil, fmt.Errorf("redisbroker: UpdateSession with op %d", op)
	}
	args := make([]any, 0, len(channels)+4)
	args = append(args, o, maxChannels, b.opts.LogSize, packCommand(op, b.node, id, nil))
	for _, ch := range channels {
		args = append(args, ch)
	}
	keys := []string{b.keySeq, b.keyFirst, b.keyLog, b.recordKey(id)}
	set, err := updateScript.Run(ctx, b.rdb, keys, args...).StringSlice()
	if err != nil {
		return nil, scriptError(err)
	}
	return set, nil
}

// scriptError maps the scripts' own errors to the server's.
func scriptError(err error) error {
	msg := err.Error()
	switch {
	case msg == "UNKNOWN":
		return server.ErrUnknownClient
	case strings.HasPrefix(msg, "TOOMANY "):
		return fmt.Errorf("%w: %s channels", server.ErrTooManyChannels, strings.TrimPrefix(msg, "TOOMANY "))
	}
	return unavailable(err)
}

// EndSession forgets a session and sends CommandEnd.
func (b *Broker) EndSession(ctx context.Context, id string) error {
	keys := []string{b.keySeq, b.keyFirst, b.keyLog, b.recordKey(id), b.topicKey(server.Topic{Kind: server.TopicClient, Name: id})}
	err := endScript.Run(ctx, b.rdb, keys, b.opts.LogSize, packCommand(server.CommandEnd, b.node, id, nil)).Err()
	if err != nil {
		return scriptError(err)
	}
	return nil
}

// ClearSessions sends CommandClear, then deletes every session record
// and private history.
func (b *Broker) ClearSessions(ctx context.Context) error {
	keys := []string{b.keySeq, b.keyFirst, b.keyLog}
	if err := commandScript.Run(ctx, b.rdb, keys, b.opts.LogSize, packCommand(server.CommandClear, b.node, "", nil), 0).Err(); err != nil {
		return unavailable(err)
	}
	for _, pattern := range []string{b.opts.Prefix + "s:*", b.opts.Prefix + "t:u:*"} {
		it := b.rdb.Scan(ctx, 0, pattern, 500).Iterator()
		var batch []string
		for it.Next(ctx) {
			batch = append(batch, it.Val())
			if len(batch) == 500 {
				if err := b.rdb.Unlink(ctx, batch...).Err(); err != nil {
					return unavailable(err)
				}
				batch = batch[:0]
			}
		}
		if err := it.Err(); err != nil {
			return unavailable(err)
		}
		if len(batch) > 0 {
			if err := b.rdb.Unlink(ctx, batch...).Err(); err != nil {
				return unavailable(err)
			}
		}
	}
	return nil
}

// AttachSession keeps a session's record while this hub holds it, and
// sends CommandAttach.
func (b *Broker) AttachSession(ctx context.Context, id string) error {
	keys := []string{b.keySeq, b.keyFirst, b.keyLog, b.recordKey(id)}
	ttl := b.opts.PresenceTTL + b.bopts.ResumeWindow
	return unavailable(commandScript.Run(ctx, b.rdb, keys, b.opts.LogSize,
		packCommand(server.CommandAttach, b.node, id, nil), ttl.Milliseconds(), b.node).Err())
}

// ClientCount counts the streams of the live hubs.
func (b *Broker) ClientCount(ctx context.Context) (int, error) {
	n, err := countScript.Run(ctx, b.rdb, []string{b.keyNodes}, b.opts.Prefix+"n:").Int()
	return n, unavailable(err)
}

// ClientsByChannel lists the clients of the live hubs on a channel.
func (b *Broker) ClientsByChannel(ctx context.Context, channel string) ([]string, error) {
	ids, err := byChannelScript.Run(ctx, b.rdb, []string{b.keyNodes}, b.opts.Prefix+"n:", channel).StringSlice()
	if err != nil {
		return nil, unavailable(err)
	}
	slices.Sort(ids)
	return ids, nil
}
