package ssevent

import "time"

// SetHistoryClock replaces the in-memory broker's clock, so that tests can
// age history without waiting.
func SetHistoryClock(h *Hub, now func() time.Time) {
	b := h.broker.(*memoryBroker)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.now = now
}
