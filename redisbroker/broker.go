package redisbroker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/ssevent/ssevent/server"
)

// ErrUnavailable wraps every error that comes from Redis not answering in
// time (down, hanging, unreachable) or answering with an error: the call
// did not take effect, or, for a timeout, may have. It wraps
// server.ErrUnavailable, so that the hub, and its callers, can test for
// either with errors.Is.
var ErrUnavailable = fmt.Errorf("redisbroker: redis unavailable: %w", server.ErrUnavailable)

// Defaults applied to zero Options fields.
const (
	DefaultPrefix           = "ssevent:"
	DefaultLogSize          = 10000
	DefaultPresenceInterval = time.Second
	DefaultPresenceSync     = 100 * time.Millisecond
	DefaultReadBlock        = time.Second
	DefaultTimeout          = 2 * time.Second
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
	//
	// A store costs Redis work in proportion to the streams that opened,
	// ended or changed channels since the last one, not to the hub's
	// streams. Each also pushes back the expiry of a share of the
	// session records of the hub's streams, so that every record is
	// refreshed once per spread: a quarter of PresenceTTL +
	// ResumeWindow, in whole PresenceIntervals, at least one. Those
	// records expire PresenceTTL + ResumeWindow + the spread after their
	// last refresh, so the sessions of a hub that died can be resumed
	// elsewhere for PresenceTTL + ResumeWindow at least. The whole list
	// is written only at the hub's first store, after a store that
	// failed, and when the hub finds its list in Redis not as it left
	// it (expired, evicted, lost).
	PresenceInterval time.Duration
	// PresenceTTL is how long a hub's presence lasts without a refresh.
	// Defaults to 3 × PresenceInterval.
	PresenceTTL time.Duration
	// PresenceSync is how often a hub looks for changes of its streams
	// to tell Redis: the delay of ClientCount and ClientsByChannel.
	// Defaults to 100ms.
	PresenceSync time.Duration
	// ReadBlock bounds one blocking read of the log. It is also how
	// often an idle hub looks whether Redis lost its data (a new epoch),
	// and how long Close may wait for the reader on a client of your own
	// (plus Timeout when Redis hangs); Close ends a read on a FromURL
	// client at once. Defaults to 1s.
	ReadBlock time.Duration
	// Timeout bounds every call the broker makes to Redis (the blocking
	// read of the log gets ReadBlock more): a call Redis does not answer
	// in time, because it is down, hanging or unreachable, fails with an
	// error wrapping ErrUnavailable, and so do the hub's Send, SendTo,
	// Subscribe and the other calls that reach Redis. It applies within
	// the caller's context, which may end sooner. Defaults to 2s; zero or
	// less means the default.
	//
	// A client made by FromURL honours it, retries included. A client of
	// your own (New) honours it only with ContextTimeoutEnabled set in its
	// options; without, each attempt may last up to its own ReadTimeout.
	Timeout time.Duration
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
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Broker is a server.ClusterBroker on Redis. Each Hub needs its own
// Broker; Brokers with the same Prefix on the same Redis make their hubs
// act as one. All methods are safe for concurrent use; none holds a lock
// while it waits for Redis.
type Broker struct {
	rdb  redis.UniversalClient
	own  bool // close rdb on Close
	opts Options
	node string // this hub's id in the presence set
	log  *slog.Logger

	keySeq, keyFirst, keyLog, keyEpoch, keyNodes string

	// wake cuts the read loop's pause short: another call reached Redis.
	wake chan struct{}

	mu      sync.Mutex
	started bool
	closed  bool
	bopts   server.BrokerOptions
	// pos is the counter when this hub first reached Redis: the reader
	// starts after it. Until hasPos, nothing is published through this
	// hub (the reader could not tell where to start to deliver it).
	pos    uint64
	hasPos bool
	epoch  string // "" until Redis was reached
	cancel context.CancelFunc
	reader sync.WaitGroup
	others sync.WaitGroup // the presence loop

	// The session saves waiting for a pipeline (saves.go).
	saveMu      sync.Mutex
	saveQueue   []*save
	saving      bool           // a sender runs
	savesClosed bool           // Close began: saves are sent on their own
	saver       sync.WaitGroup // the sender
}

var (
	_ server.Broker        = (*Broker)(nil)
	_ server.ClusterBroker = (*Broker)(nil)
	_ server.ChannelLister = (*Broker)(nil)
	_ server.Positioner    = (*Broker)(nil)
	_ server.Epocher       = (*Broker)(nil)
)

// New returns a Broker on rdb. Closing the Broker does not close rdb. For
// Options.Timeout to bound every call, rdb's options should have
// ContextTimeoutEnabled set; New logs a warning when a *redis.Client's do
// not.
func New(rdb redis.UniversalClient, opts Options) *Broker {
	opts = opts.withDefaults()
	if c, ok := rdb.(interface{ Options() *redis.Options }); ok {
		if o := c.Options(); !o.ContextTimeoutEnabled && (o.ReadTimeout <= 0 || o.ReadTimeout > opts.Timeout) {
			opts.Logger.Warn("redisbroker: the Redis client ignores context deadlines (ContextTimeoutEnabled is false): a call may last its ReadTimeout, not Options.Timeout",
				"readTimeout", o.ReadTimeout, "timeout", opts.Timeout)
		}
	}
	p := opts.Prefix
	return &Broker{
		rdb: rdb, opts: opts, node: uuid.NewString(), log: opts.Logger,
		keySeq: p + "seq", keyFirst: p + "first", keyLog: p + "log", keyEpoch: p + "epoch", keyNodes: p + "nodes",
		wake: make(chan struct{}, 1),
	}
}

// FromURL returns a Broker on a client it makes from a Redis URL
// ("redis://user:pass@host:6379/0", "rediss://..." or
// "unix:///path/redis.sock"), which Close closes. The client honours
// context deadlines, so that Options.Timeout bounds every call, its
// retries included. FromURL does not contact Redis; the Hub's start does,
// and a Redis that cannot be reached then is reached later.
func FromURL(url string, opts Options) (*Broker, error) {
	o, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redisbroker: %w", err)
	}
	o.ContextTimeoutEnabled = true
	b := New(redis.NewClient(o), opts)
	b.own = true
	return b, nil
}

// bound returns ctx limited to Options.Timeout, for one call to Redis.
func (b *Broker) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, b.opts.Timeout)
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
// shared Redis when this hub first reached it: where its reader starts. It
// asks Redis the first time, within Options.Timeout, and returns 0 when
// Redis cannot be reached; the reader then starts from the counter it
// finds once Redis answers.
func (b *Broker) Position() uint64 {
	if err := b.connect(context.Background()); err != nil {
		b.log.Warn("redisbroker: reading the position; reading it again once Redis answers", "err", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pos
}

// Epoch returns the name of the current sequence of ids, as last read
// from Redis: it is created at random next to the id counter, and again
// when the counter is gone (Redis lost its data), so that ids from before
// are never taken for positions in the new sequence. It returns "" until
// this hub reached Redis. It does not contact Redis.
func (b *Broker) Epoch() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.epoch
}

// newEpoch returns a candidate epoch, which a script stores when it finds
// none (or no counter): 48 random bits in base 36.
func newEpoch() string { return strconv.FormatUint(rand.Uint64()>>16, 36) }

// readState runs the script that reads the counter and the epoch,
// creating what is missing. It holds no lock.
func (b *Broker) readState(ctx context.Context) (uint64, string, error) {
	ctx, cancel := b.bound(ctx)
	defer cancel()
	res, err := stateScript.Run(ctx, b.rdb, []string{b.keySeq, b.keyEpoch}, newEpoch()).StringSlice()
	if err != nil {
		return 0, "", unavailable(err)
	}
	if len(res) != 2 {
		return 0, "", fmt.Errorf("redisbroker: the state script returned %d values", len(res))
	}
	pos, err := strconv.ParseUint(res[0], 10, 64)
	if err != nil {
		return 0, "", fmt.Errorf("redisbroker: %s holds %q", b.keySeq, res[0])
	}
	return pos, res[1], nil
}

// connect reads the position and epoch the first time Redis answers. The
// first position read is kept: every message published through this hub
// comes after it, so its reader, which starts there, delivers them all.
func (b *Broker) connect(ctx context.Context) error {
	b.mu.Lock()
	ok := b.hasPos
	b.mu.Unlock()
	if ok {
		return nil
	}
	pos, epoch, err := b.readState(ctx)
	if err != nil {
		return err
	}
	b.mu.Lock()
	if !b.hasPos {
		b.pos, b.hasPos, b.epoch = pos, true, epoch
	}
	b.mu.Unlock()
	select { // the reader may be pausing: it can start now
	case b.wake <- struct{}{}:
	default:
	}
	return nil
}

// noteEpoch stores the epoch read from Redis and reports whether it
// replaced another: the sequence of ids started over.
func (b *Broker) noteEpoch(e string) (changed bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	changed = b.epoch != "" && b.epoch != e
	b.epoch = e
	return changed
}

// Start attaches a hub that is not a cluster member: messages only.
func (b *Broker) Start(opts server.BrokerOptions, deliver func(server.Message)) error {
	return b.StartCluster(opts, deliver, server.ClusterHooks{})
}

// StartCluster attaches the hub: it reads the shared log from the current
// position on, and keeps the hub's presence. It does not wait for Redis:
// when Redis cannot be reached, the reader reaches it later by itself, and
// publishing fails with ErrUnavailable until then.
func (b *Broker) StartCluster(opts server.BrokerOptions, deliver func(server.Message), hooks server.ClusterHooks) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
		return server.ErrClosed
	case b.started:
		return errors.New("redisbroker: a Broker serves one Hub")
	case deliver == nil:
		return errors.New("redisbroker: StartCluster without a deliver function")
	}
	b.started, b.bopts = true, opts
	ctx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	b.reader.Add(1)
	go b.readLoop(ctx, deliver, hooks)
	if hooks.Presence != nil {
		b.others.Add(1)
		go b.presenceLoop(ctx, hooks.Presence)
	}
	return nil
}

// Close stops reading, removes this hub's presence, and closes the Redis
// client when FromURL made it. It is idempotent. The removal is best
// effort (the presence expires by itself): it shares one Timeout with the
// wait for the presence loop's last store and with the session records
// still being saved (SaveSession), so that Close returns within about
// Timeout even when Redis hangs (with a client of your own, within
// ReadBlock plus Timeout, the longest the reader's blocking read lasts).
func (b *Broker) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	cancel := b.cancel
	b.mu.Unlock()
	b.saveMu.Lock()
	b.savesClosed = true // later saves are sent on their own
	b.saveMu.Unlock()
	// The session saves queued before Close (the hub's streams ending)
	// share the Timeout with the presence's removal, and reach Redis
	// before its client is closed.
	ctx, cancelWait := b.bound(context.Background())
	defer cancelWait()
	saved := make(chan struct{})
	go func() {
		b.saver.Wait()
		close(saved)
	}()
	if cancel != nil {
		cancel()
		stopped := make(chan struct{})
		go func() {
			b.others.Wait()
			close(stopped)
		}()
		select {
		case <-stopped: // no presence is stored after its removal
			_ = leaveScript.Run(ctx, b.rdb, []string{b.keyNodes, b.nodeKey(b.node)}, b.node).Err()
		case <-ctx.Done(): // the last store hangs: so would the removal
		}
	}
	select {
	case <-saved:
	case <-ctx.Done():
	}
	var err error
	if b.own {
		err = b.rdb.Close() // also ends the calls in flight at once
	}
	<-saved // each save ends within Timeout of its start
	b.others.Wait()
	b.reader.Wait()
	return err
}

// check returns ErrClosed once the broker is closed.
func (b *Broker) check() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return server.ErrClosed
	}
	return nil
}

// ready is check for the calls that append to the log: they also need
// the reader's position, read now if it was not yet.
func (b *Broker) ready(ctx context.Context) (server.BrokerOptions, error) {
	b.mu.Lock()
	closed, opts := b.closed, b.bopts
	b.mu.Unlock()
	if closed {
		return opts, server.ErrClosed
	}
	return opts, b.connect(ctx)
}

// Publish runs one script that gives msg the next id, appends it to its
// topic's history and to the shared log, atomically: every hub reads the
// log in the order Redis ran the scripts, which is id order.
func (b *Broker) Publish(ctx context.Context, msg server.Message) (uint64, error) {
	bopts, err := b.ready(ctx)
	if err != nil {
		return 0, err
	}
	keys := []string{b.keySeq, b.keyFirst, b.keyLog, b.keyEpoch}
	if bopts.HistorySize > 0 {
		keys = append(keys, b.topicKey(msg.Topic))
	}
	ttl := bopts.HistoryTTL
	ctx, cancel := b.bound(ctx)
	defer cancel()
	s, err := publishScript.Run(ctx, b.rdb, keys, newEpoch(), packMessage(msg), bopts.HistorySize,
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
	if err := b.check(); err != nil {
		return nil, false, err
	}
	if after == 0 {
		return nil, false, nil
	}
	b.mu.Lock()
	ttl := b.bopts.HistoryTTL
	b.mu.Unlock()
	keys := make([]string, 0, len(topics)+2)
	keys = append(keys, b.keySeq, b.keyFirst)
	for _, t := range topics {
		keys = append(keys, b.topicKey(t))
	}
	ctx, cancel := b.bound(ctx)
	defer cancel()
	res, err := historyScript.Run(ctx, b.rdb, keys, after, ttl.Microseconds(), max(limit, 0)).Slice()
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
	ctx, cancel := b.bound(ctx)
	defer cancel()
	return unavailable(b.rdb.Del(ctx, b.topicKey(t)).Err())
}

// SaveSession stores a session's record. Saves made at the same time
// (many streams ending at once: a deploy, a network cut) go to Redis
// together, a few hundred scripts in one pipeline, while each caller
// still waits for its own result within its context and Options.Timeout;
// a save made while none is in flight is sent at once.
func (b *Broker) SaveSession(ctx context.Context, id string, rec server.SessionRecord, ttl time.Duration) error {
	if ttl <= 0 { // kept by the presence while the stream is open
		ttl = b.recordTTL()
	}
	ctx, cancel := b.bound(ctx)
	defer cancel()
	if err := ctx.Err(); err != nil {
		return unavailable(err)
	}
	// A record another hub owns (it took the stream over) is left as it
	// is: this save comes too late.
	key := b.recordKey(id)
	args := []any{b.node, strings.Join(rec.Channels, "\n"), strconv.FormatUint(rec.Cursor, 10), ttl.Milliseconds(),
		rec.Owner, rec.KeyHash}
	return b.queueSave(&save{ctx: ctx, key: key, args: args, done: make(chan error, 1)})
}

// LoadSession returns a session's record.
func (b *Broker) LoadSession(ctx context.Context, id string) (server.SessionRecord, bool, error) {
	ctx, cancel := b.bound(ctx)
	defer cancel()
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
	rec.Owner = v["u"]
	if k := v["k"]; k != "" {
		rec.KeyHash = []byte(k)
	}
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
	if _, err := b.ready(ctx); err != nil {
		return nil, err
	}
	args := make([]any, 0, len(channels)+5)
	args = append(args, newEpoch(), o, maxChannels, b.opts.LogSize, packCommand(op, b.node, id, nil))
	for _, ch := range channels {
		args = append(args, ch)
	}
	keys := []string{b.keySeq, b.keyFirst, b.keyLog, b.keyEpoch, b.recordKey(id)}
	ctx, cancel := b.bound(ctx)
	defer cancel()
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
	if _, err := b.ready(ctx); err != nil {
		return err
	}
	keys := []string{b.keySeq, b.keyFirst, b.keyLog, b.keyEpoch, b.recordKey(id), b.topicKey(server.Topic{Kind: server.TopicClient, Name: id})}
	ctx, cancel := b.bound(ctx)
	defer cancel()
	err := endScript.Run(ctx, b.rdb, keys, newEpoch(), b.opts.LogSize, packCommand(server.CommandEnd, b.node, id, nil)).Err()
	if err != nil {
		return scriptError(err)
	}
	return nil
}

// ClearSessions sends CommandClear, then deletes every session record
// and private history. Each call to Redis is bounded by Options.Timeout.
func (b *Broker) ClearSessions(ctx context.Context) error {
	if _, err := b.ready(ctx); err != nil {
		return err
	}
	if err := b.command(ctx, nil, server.CommandClear, ""); err != nil {
		return err
	}
	for _, pattern := range []string{b.opts.Prefix + "s:*", b.opts.Prefix + "t:u:*"} {
		var cursor uint64
		for {
			var keys []string
			var err error
			cctx, cancel := b.bound(ctx)
			keys, cursor, err = b.rdb.Scan(cctx, cursor, pattern, 500).Result()
			if err == nil && len(keys) > 0 {
				err = b.rdb.Unlink(cctx, keys...).Err()
			}
			cancel()
			if err != nil {
				return unavailable(err)
			}
			if cursor == 0 {
				break
			}
		}
	}
	return nil
}

// AttachSession keeps a session's record while this hub holds it, and
// sends CommandAttach.
func (b *Broker) AttachSession(ctx context.Context, id string) error {
	if _, err := b.ready(ctx); err != nil {
		return err
	}
	return b.command(ctx, []any{b.recordTTL().Milliseconds(), b.node}, server.CommandAttach, id, b.recordKey(id))
}

// command appends a command to the log; a record key, when given, gets
// the expiry and owner in extra.
func (b *Broker) command(ctx context.Context, extra []any, op server.CommandOp, client string, record ...string) error {
	keys := append([]string{b.keySeq, b.keyFirst, b.keyLog, b.keyEpoch}, record...)
	args := append([]any{newEpoch(), b.opts.LogSize, packCommand(op, b.node, client, nil)}, extra...)
	ctx, cancel := b.bound(ctx)
	defer cancel()
	return unavailable(commandScript.Run(ctx, b.rdb, keys, args...).Err())
}

// ClientCount counts the streams of the live hubs.
func (b *Broker) ClientCount(ctx context.Context) (int, error) {
	ctx, cancel := b.bound(ctx)
	defer cancel()
	n, err := countScript.Run(ctx, b.rdb, []string{b.keyNodes}, b.opts.Prefix+"n:").Int()
	return n, unavailable(err)
}

// Channels lists, sorted by name, at most limit channels sorting after
// after, with their subscribers on the live hubs, as their presence last
// told (server.ChannelLister).
func (b *Broker) Channels(ctx context.Context, after string, limit int) ([]server.ChannelInfo, error) {
	ctx, cancel := b.bound(ctx)
	defer cancel()
	raw, err := channelsScript.Run(ctx, b.rdb, []string{b.keyNodes}, b.opts.Prefix+"n:", after, limit).Slice()
	if err != nil {
		return nil, unavailable(err)
	}
	out := make([]server.ChannelInfo, 0, len(raw)/2)
	for i := 0; i+1 < len(raw); i += 2 {
		name, _ := raw[i].(string)
		n, _ := raw[i+1].(int64)
		out = append(out, server.ChannelInfo{Name: name, Subscribers: int(n)})
	}
	return out, nil
}

// ClientsByChannel lists the clients of the live hubs on a channel.
func (b *Broker) ClientsByChannel(ctx context.Context, channel string) ([]string, error) {
	ctx, cancel := b.bound(ctx)
	defer cancel()
	ids, err := byChannelScript.Run(ctx, b.rdb, []string{b.keyNodes}, b.opts.Prefix+"n:", channel).StringSlice()
	if err != nil {
		return nil, unavailable(err)
	}
	slices.Sort(ids)
	return ids, nil
}
