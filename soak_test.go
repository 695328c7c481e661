//go:build soak

package ssevent_test

import (
	"testing"

	"github.com/ssevent/ssevent/internal/hubtest"
)

// TestSoak runs waves of 2,000 clients against the core for
// SSEVENT_SOAK_DURATION (2m by default): see hubtest.Soak. It runs with
// make soak (go test -tags soak), without the race detector, whose limit
// its goroutines exceed.
func TestSoak(t *testing.T) { hubtest.Soak(t, coreMount) }
