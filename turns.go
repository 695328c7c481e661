package ssevent

import (
	"runtime"
	"sync"
	"time"
)

// turns lets the standard path's streams write in turn, a few at a time,
// so that under a burst each write carries what a stream gathered while it
// waited for its turn instead of the one event that woke it.
//
// A stream served by its request goroutine is woken for every event queued
// on it. Without turns, thousands of them woken at once share the cores
// with the publisher, each finds one event and writes it: a syscall (and a
// TLS record, or an HTTP/2 frame) per event, and the publisher slowed down
// so much that the next wake-up finds one event again. With turns, at most
// GOMAXPROCS streams hold one; the others wait in line, in the order they
// were woken, and their queues fill meanwhile. When a turn is free, as at
// any steady low rate, a stream takes it at once and nothing waits.
//
// A write blocks while the client does not read, so a holder may keep its
// turn for as long as Config.WriteTimeout. A monitor, running while any
// stream waits, excuses a holder that has written for longer than
// turnExcuse: its turn passes to the next in line, so clients that stop
// reading cannot stall the others by more than that.
type turns struct {
	mu      sync.Mutex
	started bool
	free    int       // turns nobody holds
	waiting []*stream // in line, oldest first from head; entries whose stream no longer waits are skipped
	head    int
	holders []*stream // holding a turn, not excused
	ticking bool      // the monitor runs
}

// turnExcuse is how long a holder writes before its turn is given on.
const turnExcuse = time.Millisecond

// Turn states of a stream, guarded by turns.mu.
const (
	turnNone = iota
	turnWaiting
	turnHolding
	turnExcused // held, given on by the monitor
)

// acquire returns once st holds a turn (true), or when stop or gone is
// closed first (false: st holds none).
func (t *turns) acquire(st *stream, stop, gone <-chan struct{}) bool {
	t.mu.Lock()
	if !t.started {
		t.started, t.free = true, max(runtime.GOMAXPROCS(0), 1)
	}
	if t.free > 0 && t.head == len(t.waiting) {
		t.free--
		t.holdLocked(st)
		t.mu.Unlock()
		return true
	}
	if st.turn == nil {
		st.turn = make(chan struct{}, 1)
	}
	st.turnState = turnWaiting
	t.waiting = append(t.waiting, st)
	if !t.ticking {
		t.ticking = true
		go t.monitor()
	}
	t.mu.Unlock()
	select {
	case <-st.turn:
		return true
	case <-stop:
	case <-gone:
	}
	t.mu.Lock()
	if st.turnState == turnWaiting {
		st.turnState = turnNone // its entry in line is skipped
		t.mu.Unlock()
		return false
	}
	t.mu.Unlock()
	<-st.turn // granted meanwhile: give it back
	t.release(st)
	return false
}

// holdLocked gives st a turn.
func (t *turns) holdLocked(st *stream) {
	st.turnState = turnHolding
	st.turnSince = time.Now().UnixNano()
	t.holders = append(t.holders, st)
}

// release gives back st's turn: to the next stream in line.
func (t *turns) release(st *stream) {
	t.mu.Lock()
	if st.turnState == turnHolding {
		t.dropLocked(st)
		t.free++
	}
	st.turnState = turnNone
	t.grantLocked()
	t.mu.Unlock()
}

// dropLocked removes st from the holders.
func (t *turns) dropLocked(st *stream) {
	for i, h := range t.holders {
		if h == st {
			last := len(t.holders) - 1
			t.holders[i] = t.holders[last]
			t.holders[last] = nil
			t.holders = t.holders[:last]
			return
		}
	}
}

// grantLocked hands the free turns to the streams in line.
func (t *turns) grantLocked() {
	for t.free > 0 && t.head < len(t.waiting) {
		st := t.waiting[t.head]
		t.waiting[t.head] = nil
		t.head++
		if st.turnState != turnWaiting {
			continue
		}
		t.free--
		t.holdLocked(st)
		st.turn <- struct{}{}
	}
	if t.head == len(t.waiting) {
		t.waiting, t.head = t.waiting[:0], 0
		if cap(t.waiting) > 4096 {
			t.waiting = nil
		}
	} else if t.head >= 1024 && t.head*2 >= len(t.waiting) {
		n := copy(t.waiting, t.waiting[t.head:])
		clear(t.waiting[n:])
		t.waiting, t.head = t.waiting[:n], 0
	}
}

// monitor excuses the holders that have written for longer than
// turnExcuse, while streams wait; it returns when none does.
func (t *turns) monitor() {
	for {
		time.Sleep(turnExcuse)
		t.mu.Lock()
		if t.head == len(t.waiting) {
			t.ticking = false
			t.mu.Unlock()
			return
		}
		now := time.Now().UnixNano()
		for i := 0; i < len(t.holders); {
			st := t.holders[i]
			if now-st.turnSince < int64(turnExcuse) {
				i++
				continue
			}
			st.turnState = turnExcused
			t.dropLocked(st)
			t.free++
		}
		t.grantLocked()
		t.mu.Unlock()
	}
}
