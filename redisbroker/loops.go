package redisbroker

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ssevent/ssevent/server"
)

// Pauses of the reader between failed attempts to reach Redis: they grow
// from minPause to maxPause.
const minPause, maxPause = 20 * time.Millisecond, 2 * time.Second

// readLoop delivers the shared log, one entry at a time, in id order, from
// the position this hub first read from Redis: at start, or, when Redis
// could not be reached then, as soon as it answers. It outlives Redis
// outages: it retries with a growing pause and goes on from the last entry
// it delivered, so nothing the log still holds is missed. It asks the hub
// to resync when the entry read does not follow the one delivered before
// (the log was trimmed past this hub), and when the epoch changed (Redis
// lost its data): seen in an entry, or read from Redis while idle.
func (b *Broker) readLoop(ctx context.Context, deliver func(server.Message), hooks server.ClusterHooks) {
	defer b.reader.Done()
	down := false
	pause := minPause
	// failed logs the first failure of an outage and pauses; it reports
	// whether to go on.
	failed := func(what string, err error) bool {
		if ctx.Err() != nil {
			return false
		}
		if !down {
			b.log.Warn("redisbroker: "+what+"; retrying", "err", err)
			down = true
		}
		t := time.NewTimer(pause)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		case <-b.wake:
		}
		pause = min(2*pause, maxPause)
		return true
	}
	for {
		err := b.connect(ctx)
		if err == nil {
			break
		}
		if !failed("reaching Redis to read the position", err) {
			return
		}
	}
	b.mu.Lock()
	last, cur := b.pos, b.epoch // the entry delivered last, and its epoch
	b.mu.Unlock()
	resync := func() {
		if hooks.Resync != nil {
			hooks.Resync()
		}
	}
	// newEpoch takes note of an epoch read from Redis; when it is not
	// the one this hub knew, the hub's clients hold ids of a sequence
	// that ended: it ends their streams, so that they learn of it.
	newEpoch := func(e string) {
		if b.noteEpoch(e) {
			b.log.Warn("redisbroker: the id sequence started over (Redis lost its data); ending this hub's streams", "epoch", e)
			resync()
		}
	}
	for ctx.Err() == nil {
		rctx, cancel := context.WithTimeout(ctx, b.opts.ReadBlock+b.opts.Timeout)
		res, err := b.rdb.XRead(rctx, &redis.XReadArgs{
			Streams: []string{b.keyLog, strconv.FormatUint(last, 10) + "-0"},
			Count:   1000,
			Block:   b.opts.ReadBlock,
		}).Result()
		cancel()
		if err != nil && !errors.Is(err, redis.Nil) {
			if !failed("reading the log", err) {
				return
			}
			continue
		}
		if down {
			b.log.Info("redisbroker: reading the log again")
			down, pause = false, minPause
		}
		if len(res) == 0 {
			// Idle: Redis may have lost its data (restarted under
			// the client's retries, or flushed), and no entry shows
			// it. A look every ReadBlock costs one call.
			if _, e, err := b.readState(ctx); err == nil {
				newEpoch(e)
			}
		}
		for _, s := range res {
			for _, e := range s.Messages {
				if ctx.Err() != nil {
					return // closed: deliver nothing more
				}
				id, ok := entryID(e.ID)
				if !ok || id <= last {
					continue
				}
				p, _ := e.Values["p"].(string)
				prev, _ := strconv.ParseUint(p, 10, 64)
				switch epoch, _ := e.Values["e"].(string); {
				case epoch != "" && epoch != cur:
					// The first entry of a new sequence.
					newEpoch(epoch)
					cur = epoch
				case prev != last:
					b.log.Warn("redisbroker: log entries missed", "after", last, "next", id, "previous", prev)
					resync()
				}
				last = id
				raw, _ := e.Values["m"].(string)
				if strings.HasPrefix(raw, "x") {
					cmd, from, ok := unpackCommand(raw)
					if ok && hooks.Apply != nil && (cmd.Op != server.CommandAttach || from != b.node) {
						hooks.Apply(cmd)
					}
					continue
				}
				if m, ok := unpackMessage(e.ID, raw); ok {
					deliver(m)
				}
			}
		}
	}
}

// entryID parses a stream entry id "<id>-0".
func entryID(s string) (uint64, bool) {
	n, _, _ := strings.Cut(s, "-")
	id, err := strconv.ParseUint(n, 10, 64)
	return id, err == nil
}

// packMessage encodes a message as the log and the history hold it: a
// kind letter, the topic name, LF, the event name, LF, the data. Names
// hold no LF. A message whose Kind is not KindJSON (HTML, a Datastar
// patch) is prefixed with "k" and its kind's digit; messages written
// before kinds existed have no prefix and read as KindJSON.
func packMessage(m server.Message) string {
	var k byte
	switch m.Topic.Kind {
	case server.TopicChannel:
		k = 'c'
	case server.TopicClient:
		k = 'u'
	default:
		k = 'a'
	}
	var sb strings.Builder
	sb.Grow(len(m.Topic.Name) + len(m.Event) + len(m.Data) + 5)
	if m.Kind != server.KindJSON {
		sb.WriteByte('k')
		sb.WriteByte('0' + byte(m.Kind))
	}
	sb.WriteByte(k)
	sb.WriteString(m.Topic.Name)
	sb.WriteByte('\n')
	sb.WriteString(m.Event)
	sb.WriteByte('\n')
	sb.Write(m.Data)
	return sb.String()
}

func unpackMessage(entry, raw string) (server.Message, bool) {
	id, ok := entryID(entry)
	if !ok || raw == "" {
		return server.Message{}, false
	}
	var m server.Message
	m.ID = id
	if raw[0] == 'k' {
		if len(raw) < 3 || raw[1] < '1' || raw[1] > '9' {
			return server.Message{}, false
		}
		m.Kind = server.MessageKind(raw[1] - '0')
		raw = raw[2:]
	}
	switch raw[0] {
	case 'c':
		m.Topic.Kind = server.TopicChannel
	case 'u':
		m.Topic.Kind = server.TopicClient
	case 'a':
		m.Topic.Kind = server.TopicAll
	default:
		return server.Message{}, false
	}
	name, rest, ok1 := strings.Cut(raw[1:], "\n")
	event, data, ok2 := strings.Cut(rest, "\n")
	if !ok1 || !ok2 {
		return server.Message{}, false
	}
	m.Topic.Name, m.Event, m.Data = name, event, []byte(data)
	return m, true
}

// packCommand encodes a command: "x", the op digit, the sending hub, LF,
// the client, LF, the channels separated by LF.
func packCommand(op server.CommandOp, node, client string, channels []string) string {
	return "x" + strconv.Itoa(int(op)) + node + "\n" + client + "\n" + strings.Join(channels, "\n")
}

func unpackCommand(raw string) (server.Command, string, bool) {
	if len(raw) < 2 {
		return server.Command{}, "", false
	}
	op := server.CommandOp(raw[1] - '0')
	node, rest, ok1 := strings.Cut(raw[2:], "\n")
	client, chs, ok2 := strings.Cut(rest, "\n")
	if !ok1 || !ok2 {
		return server.Command{}, "", false
	}
	c := server.Command{Op: op, Client: client}
	if chs != "" {
		c.Channels = strings.Split(chs, "\n")
	}
	return c, node, true
}
