package ssevent

import (
	"cmp"
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// memoryBroker is the default Broker: ids from one counter, history in
// memory, delivery by a direct call under the broker's lock so that every
// hub-side fan-out happens in ID order.
type memoryBroker struct {
	mu      sync.Mutex
	opts    BrokerOptions
	deliver func(Message)
	now     func() time.Time
	epoch   string
	base    uint64 // ids at or below base were not given by this broker
	seq     uint64
	closed  bool

	rings map[Topic]*ring
	// fifo holds every held entry in ID order; entries already evicted
	// from their ring are marked dead and dropped when they reach the
	// front, or by compaction.
	fifo   []*entry
	dead   int
	bytes  int64
	forgot uint64 // highest id evicted from a ring since deleted
}

type entry struct {
	msg  Message
	at   time.Time
	ring *ring
	dead bool
}

type ring struct {
	topic   Topic
	entries []*entry
	evicted uint64 // highest id evicted from this ring
}

func newMemoryBroker() *memoryBroker {
	now := time.Now
	// Ids start at the current Unix time in microseconds, so a restarted
	// hub never gives an id a client saw from the previous one (unless
	// it published more than a million events a second on average), and
	// ids stay below 2^53 for JavaScript until the year 2255.
	base := uint64(now().UnixMicro())
	return &memoryBroker{now: now, epoch: newEpoch(), base: base, seq: base, rings: make(map[Topic]*ring)}
}

// newEpoch returns a random epoch of 8 base-36 digits (41 bits).
func newEpoch() string {
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	var b [8]byte
	for i := range b {
		b[i] = digits[rand.N(len(digits))]
	}
	return string(b[:])
}

// Epoch names this broker's sequence: a hub started again has another.
func (b *memoryBroker) Epoch() string { return b.epoch }

func (b *memoryBroker) Start(opts BrokerOptions, deliver func(Message)) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.opts, b.deliver = opts, deliver
	return nil
}

func (b *memoryBroker) Publish(_ context.Context, m Message) (uint64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, ErrClosed
	}
	b.seq++
	m.ID = b.seq
	// One encoding for every delivery, live or replayed; the history keeps
	// the payload as a slice of it.
	m.frame = encodeMessage(m, b.epoch)
	m.Data = m.frame.payload(&m, len(m.Data))
	b.store(m)
	if b.deliver != nil {
		b.deliver(m)
	}
	return m.ID, nil
}

// store appends m to its topic's ring and evicts what the limits require.
func (b *memoryBroker) store(m Message) {
	now := b.now()
	b.expire(now)
	if b.opts.HistorySize <= 0 {
		return
	}
	r := b.rings[m.Topic]
	if r == nil {
		r = &ring{topic: m.Topic}
		b.rings[m.Topic] = r
	}
	e := &entry{msg: m, at: now, ring: r}
	r.entries = append(r.entries, e)
	b.fifo = append(b.fifo, e)
	b.bytes += int64(len(m.Data))
	if len(r.entries) > b.opts.HistorySize {
		b.evict(r.entries[0])
	}
	for b.bytes > b.opts.HistoryMaxBytes && b.popFront() {
	}
	b.compact()
}

// expire evicts entries older than the TTL.
func (b *memoryBroker) expire(now time.Time) {
	cutoff := now.Add(-b.opts.HistoryTTL)
	for len(b.fifo) > 0 {
		e := b.fifo[0]
		if !e.dead && !e.at.Before(cutoff) {
			return
		}
		b.popFront()
	}
}

// popFront removes the oldest fifo entry, evicting it if still live. It
// reports whether there was one.
func (b *memoryBroker) popFront() bool {
	if len(b.fifo) == 0 {
		return false
	}
	e := b.fifo[0]
	b.fifo[0] = nil
	b.fifo = b.fifo[1:]
	if e.dead {
		b.dead--
	} else {
		b.evict(e)
		b.dead-- // evict counted it; it has left the fifo already
		if r := e.ring; len(r.entries) == 0 {
			// Remember how far this topic's history went, for gap
			// reports, and free the ring.
			b.forgot = max(b.forgot, r.evicted)
			delete(b.rings, r.topic)
		}
	}
	return true
}

// evict removes e, the oldest entry of its ring, from the ring. The fifo
// entry is marked dead and counted until it leaves the fifo.
func (b *memoryBroker) evict(e *entry) {
	r := e.ring
	r.entries[0] = nil
	r.entries = r.entries[1:]
	r.evicted = max(r.evicted, e.msg.ID)
	b.bytes -= int64(len(e.msg.Data))
	e.dead = true
	e.msg.Data = nil
	b.dead++
}

// compact drops dead entries from the fifo when they outnumber live ones,
// so the fifo stays within twice the history it holds.
func (b *memoryBroker) compact() {
	if b.dead <= 64 || b.dead*2 < len(b.fifo) {
		return
	}
	live := b.fifo[:0]
	for _, e := range b.fifo {
		if !e.dead {
			live = append(live, e)
		}
	}
	clear(b.fifo[len(live):])
	b.fifo = live
	b.dead = 0
}

func (b *memoryBroker) History(_ context.Context, topics []Topic, after uint64, limit int) ([]Message, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, false, ErrClosed
	}
	if after == 0 {
		return nil, false, nil
	}
	b.expire(b.now())
	// base is a position, not an id: a client may present it to mean
	// "everything since the hub started".
	gap := after < b.base || after > b.seq || b.opts.HistorySize <= 0 && after < b.seq
	if after >= b.seq {
		return nil, gap, nil
	}
	// Merge the topics' rings from their first entry after the position,
	// taking the lowest id each time, until limit.
	heads := make([][]*entry, 0, len(topics))
	for _, t := range topics {
		r := b.rings[t]
		if r == nil {
			gap = gap || after < b.forgot
			continue
		}
		gap = gap || after < r.evicted
		i, _ := slices.BinarySearchFunc(r.entries, after, func(e *entry, id uint64) int {
			return cmp.Compare(e.msg.ID, id+1)
		})
		if i < len(r.entries) {
			heads = append(heads, r.entries[i:])
		}
	}
	var out []Message
	for len(heads) > 0 && (limit <= 0 || len(out) < limit) {
		lo := 0
		for i := 1; i < len(heads); i++ {
			if heads[i][0].msg.ID < heads[lo][0].msg.ID {
				lo = i
			}
		}
		out = append(out, heads[lo][0].msg)
		if heads[lo] = heads[lo][1:]; len(heads[lo]) == 0 {
			heads = slices.Delete(heads, lo, lo+1)
		}
	}
	return out, gap, nil
}

// Position returns the id of the last message published.
func (b *memoryBroker) Position() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.seq
}

func (b *memoryBroker) Forget(_ context.Context, t Topic) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.rings[t]
	if r == nil {
		return nil
	}
	for len(r.entries) > 0 {
		b.evict(r.entries[0])
	}
	delete(b.rings, t)
	b.compact()
	return nil
}

func (b *memoryBroker) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	b.rings, b.fifo = nil, nil
	return nil
}
