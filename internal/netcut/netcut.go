// Package netcut injects network faults in tests: a listener that remembers
// the connections it accepted so that a test can cut them the way a broken
// network or a crashed peer would, whoever holds them (net/http, or a
// handler that took the connection over).
package netcut

import (
	"math/rand/v2"
	"net"
	"sync"
)

// Listener wraps a net.Listener and tracks the connections it accepts.
type Listener struct {
	net.Listener
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// Wrap returns a Listener tracking the connections l accepts.
func Wrap(l net.Listener) *Listener {
	return &Listener{Listener: l, conns: make(map[net.Conn]struct{})}
}

// Accept accepts a connection and tracks it.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.conns[c] = struct{}{}
		l.mu.Unlock()
	}
	return c, err
}

// CutAll closes every connection accepted so far and returns how many.
func (l *Listener) CutAll() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.conns)
	for c := range l.conns {
		c.Close()
		delete(l.conns, c)
	}
	return n
}

// CutOne closes one connection chosen with r and reports whether there was
// one.
func (l *Listener) CutOne(r *rand.Rand) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.conns) == 0 {
		return false
	}
	i := r.IntN(len(l.conns))
	for c := range l.conns {
		if i == 0 {
			c.Close()
			delete(l.conns, c)
			return true
		}
		i--
	}
	return false
}
