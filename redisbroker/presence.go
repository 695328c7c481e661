package redisbroker

import (
	"context"
	"hash/fnv"
	"time"

	"github.com/ssevent/ssevent/server"
)

// The presence: each hub keeps in Redis the list of its streams (a hash,
// client id → channels) and its own expiry (its score in the set of
// hubs), which the other hubs read for ClientCount, ClientsByChannel and
// Channels. It also keeps the session records of its streams from
// expiring while the streams are open.
//
// A store costs Redis work in proportion to what changed since the last
// one, not to the hub's streams: the hub remembers what it stored, and
// sends only the sessions added, changed and removed
// (presenceChangeScript). A store rewrites the whole hash
// (presenceScript) only when the hub cannot know what Redis holds: at its
// first store, after a store that failed (a timeout is ambiguous: the
// store may have run, or may still run), and when the change script finds
// the hash not as the hub left it (the score is not the token the last
// store returned, or the hash has another number of fields: it expired,
// was evicted or deleted, or Redis lost or restored data). Those checks
// are what make a periodic rewrite needless: the hash parts from what the
// hub stored only in those ways (short of a hand edit that keeps its
// number of fields and the score), and each is seen at the next store.
//
// The records: a session's record is set to expire recordTTL from when
// its stream opened (SaveSession, AttachSession), and the presence pushes
// that expiry back. Pushing back every record at every store was most of
// the cost; instead, each session falls in one of n refresh buckets (a
// hash of its id), and each PresenceInterval's slot of wall time
// refreshes one bucket, so that every record of an open stream is
// refreshed once every n PresenceIntervals (the spread, a quarter of
// PresenceTTL + ResumeWindow), about 1/n of the hub's records per
// PresenceInterval. The records' expiry is PresenceTTL + ResumeWindow +
// spread: a record outlives the last refresh by the spread at least, so
// it never expires while its stream is open and stores succeed, and after
// a hub dies its sessions' records last PresenceTTL + ResumeWindow at
// least (as long as before this scheme) and the spread more at most. A
// session added or whose channels changed has its record refreshed with
// that change; one that ended is saved by the hub for ResumeWindow.

// recordTiming returns the expiry of the record of a session with an
// open stream, and the number of refresh buckets: see above.
func recordTiming(opts Options, resume time.Duration) (ttl time.Duration, buckets uint64) {
	life := opts.PresenceTTL + max(resume, 0)
	buckets = max(1, uint64(life/4/opts.PresenceInterval))
	return life + time.Duration(buckets)*opts.PresenceInterval, buckets
}

// recordTTL is recordTiming's expiry for this broker's hub.
func (b *Broker) recordTTL() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	ttl, _ := recordTiming(b.opts, b.bopts.ResumeWindow)
	return ttl
}

// presenceEntry is a session as the hub last stored it.
type presenceEntry struct {
	channels string // framed as the hash holds them
	bucket   uint64 // its refresh bucket
	seen     uint64 // the last store whose snapshot listed it
	changed  uint64 // the last store that set it
}

// presence is the presence loop's state.
type presence struct {
	b        *Broker
	keys     []string
	head     []any // the scripts' first four arguments
	interval time.Duration
	buckets  uint64

	// stored is what the last store left in the hash; nil when the next
	// store must rewrite it whole.
	stored map[string]*presenceEntry
	score  string    // the token the last store returned
	slot   int64     // the last wall-time slot whose records were refreshed
	wrote  time.Time // when the last store started
	gen    uint64    // the current store's number
}

// presenceLoop tells Redis which streams this hub holds: at once when
// they change (looked at every PresenceSync), and every PresenceInterval
// anyway so that the presence does not expire. Each store is bounded by
// Options.Timeout.
func (b *Broker) presenceLoop(ctx context.Context, snapshot func() []server.SessionPresence) {
	defer b.others.Done()
	t := time.NewTicker(b.opts.PresenceSync)
	defer t.Stop()
	b.mu.Lock()
	ttl, buckets := recordTiming(b.opts, b.bopts.ResumeWindow)
	b.mu.Unlock()
	p := &presence{
		b:        b,
		keys:     []string{b.keyNodes, b.nodeKey(b.node)},
		head:     []any{b.node, b.opts.PresenceTTL.Milliseconds(), ttl.Milliseconds(), b.opts.Prefix + "s:"},
		interval: b.opts.PresenceInterval,
		buckets:  buckets,
	}
	var last []server.SessionPresence // the snapshot of the last store that succeeded
	for {
		ps, now := snapshot(), time.Now()
		switch {
		case p.stored != nil && sameSnapshot(ps, last) && now.Sub(p.wrote) < p.interval:
			// The hub's list is the one stored, and the refresh is not
			// due: nothing to compare.
		default:
			if err := p.store(ctx, ps, now); err != nil {
				last = nil
				if ctx.Err() != nil {
					return
				}
				b.log.Debug("redisbroker: storing the presence", "err", err)
			} else {
				last = ps
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sameSnapshot reports whether a and b are the same list: the hub hands
// out the same slice while its streams do not change
// (server.ClusterHooks.Presence).
func sameSnapshot(a, b []server.SessionPresence) bool {
	return a != nil && b != nil && len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// store tells Redis the hub's streams ps, as of now, when they changed
// or the presence is due for its refresh.
func (p *presence) store(ctx context.Context, ps []server.SessionPresence, now time.Time) error {
	slot := now.UnixNano() / int64(p.interval)
	if p.stored == nil {
		return p.storeAll(ctx, ps, now, slot)
	}
	p.gen++
	var set []any // id, framed channels
	for _, s := range ps {
		e := p.stored[s.ID]
		switch {
		case e == nil:
			set = append(set, s.ID, frameChannels(s.Channels))
		case e.seen == p.gen: // listed twice: the first stands
		default:
			e.seen = p.gen
			if !framedEqual(e.channels, s.Channels) {
				e.changed = p.gen
				set = append(set, s.ID, frameChannels(s.Channels))
			}
		}
	}
	var del, refresh []any
	due := p.due(slot)
	for id, e := range p.stored {
		switch {
		case e.seen != p.gen:
			del = append(del, id)
		case e.changed != p.gen && due(e.bucket):
			refresh = append(refresh, id)
		}
	}
	if len(set) == 0 && len(del) == 0 && now.Sub(p.wrote) < p.interval {
		return nil // nothing changed, and the refresh is not due
	}
	args := make([]any, 0, len(p.head)+4+len(set)+len(del)+len(refresh))
	args = append(args, p.head...)
	args = append(args, p.score, len(p.stored), len(set)/2, len(del))
	args = append(args, set...)
	args = append(args, del...)
	args = append(args, refresh...)
	sctx, cancel := p.b.bound(ctx)
	score, err := presenceChangeScript.Run(sctx, p.b.rdb, p.keys, args...).Text()
	cancel()
	switch {
	case err != nil:
		p.stored = nil // it may have run, or may still run
		return unavailable(err)
	case score == "":
		p.b.log.Debug("redisbroker: the presence in Redis is not as this hub stored it; storing it whole")
		return p.storeAll(ctx, ps, now, slot)
	}
	for i := 0; i < len(set); i += 2 {
		id, chs := set[i].(string), set[i+1].(string)
		if e := p.stored[id]; e != nil {
			e.channels = chs
		} else {
			p.stored[id] = &presenceEntry{channels: chs, bucket: bucketOf(id, p.buckets), seen: p.gen}
		}
	}
	for _, id := range del {
		delete(p.stored, id.(string))
	}
	p.score, p.slot, p.wrote = score, slot, now
	return nil
}

// storeAll replaces the hub's hash with ps, and refreshes every record.
func (p *presence) storeAll(ctx context.Context, ps []server.SessionPresence, now time.Time, slot int64) error {
	p.stored = nil
	args := make([]any, 0, len(p.head)+2*len(ps))
	args = append(args, p.head...)
	stored := make(map[string]*presenceEntry, len(ps))
	for _, s := range ps {
		chs := frameChannels(s.Channels)
		args = append(args, s.ID, chs)
		stored[s.ID] = &presenceEntry{channels: chs, bucket: bucketOf(s.ID, p.buckets)}
	}
	sctx, cancel := p.b.bound(ctx)
	score, err := presenceScript.Run(sctx, p.b.rdb, p.keys, args...).Text()
	cancel()
	if err != nil {
		return unavailable(err)
	}
	p.stored, p.score, p.slot, p.wrote = stored, score, slot, now
	return nil
}

// due returns whether a bucket's records are to be refreshed by a store
// in slot: the buckets of the slots after the last refreshed one, up to
// slot, each slot s having bucket s mod buckets.
func (p *presence) due(slot int64) func(bucket uint64) bool {
	n := slot - p.slot
	if n <= 0 {
		return func(uint64) bool { return false }
	}
	if uint64(n) >= p.buckets {
		return func(uint64) bool { return true }
	}
	first := uint64(p.slot+1) % p.buckets
	return func(bucket uint64) bool {
		return (bucket+p.buckets-first)%p.buckets < uint64(n)
	}
}

// bucketOf returns the refresh bucket of a session id.
func bucketOf(id string, buckets uint64) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(id))
	return h.Sum64() % buckets
}

// framedEqual reports whether framed is frameChannels(chs), without
// building it.
func framedEqual(framed string, chs []string) bool {
	if len(chs) == 0 {
		return framed == "\n\n"
	}
	if framed == "" || framed[0] != '\n' {
		return false
	}
	rest := framed[1:]
	for _, ch := range chs {
		if len(rest) <= len(ch) || rest[:len(ch)] != ch || rest[len(ch)] != '\n' {
			return false
		}
		rest = rest[len(ch)+1:]
	}
	return rest == ""
}
