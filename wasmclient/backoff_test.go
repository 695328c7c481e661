package wasmclient_test

import (
	"errors"
	"testing"
	"time"

	"github.com/ssevent/ssevent/shared"
	"github.com/ssevent/ssevent/wasmclient"
)

func TestBackoff(t *testing.T) {
	tests := []struct {
		name    string
		b       wasmclient.Backoff
		attempt int
		r       float64
		want    time.Duration
	}{
		{"defaults first ceiling", wasmclient.Backoff{}, 1, 0.999999999, 3 * time.Second},
		{"floor is a tenth of base", wasmclient.Backoff{}, 1, 0, 300 * time.Millisecond},
		{"grows", wasmclient.Backoff{Base: 100 * time.Millisecond}, 4, 0.999999999, 800 * time.Millisecond},
		{"capped", wasmclient.Backoff{Base: time.Second, Max: 5 * time.Second}, 30, 0.999999999, 5 * time.Second},
		{"huge attempt stays capped", wasmclient.Backoff{}, 1 << 20, 0.999999999, 30 * time.Second},
		{"attempt zero is the first", wasmclient.Backoff{Base: time.Second}, 0, 0.999999999, time.Second},
		{"max below base is raised", wasmclient.Backoff{Base: 2 * time.Second, Max: time.Second}, 3, 0.999999999, 2 * time.Second},
		{"r out of range is clamped", wasmclient.Backoff{Base: time.Second}, 1, 7, time.Second},
		{"negative r is the floor", wasmclient.Backoff{Base: time.Second}, 1, -1, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.b.Delay(tt.attempt, tt.r)
			if diff := got - tt.want; diff > time.Millisecond || diff < -time.Millisecond {
				t.Fatalf("Delay(%d, %v) = %v, want about %v", tt.attempt, tt.r, got, tt.want)
			}
		})
	}
}

// Every delay lies between the floor and the ceiling, and the ceiling
// never decreases: the client can neither spin nor wait without bound.
func TestBackoffBounds(t *testing.T) {
	b := wasmclient.Backoff{Base: 50 * time.Millisecond, Max: 2 * time.Second}
	prev := time.Duration(0)
	for attempt := 1; attempt < 100; attempt++ {
		c := b.Ceiling(attempt)
		if c < prev || c > 2*time.Second {
			t.Fatalf("Ceiling(%d) = %v after %v", attempt, c, prev)
		}
		prev = c
		for _, r := range []float64{0, 0.25, 0.5, 0.99} {
			d := b.Delay(attempt, r)
			if d < 5*time.Millisecond || d > c {
				t.Fatalf("Delay(%d, %v) = %v outside [5ms, %v]", attempt, r, d, c)
			}
		}
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		target error
		want   bool
	}{
		{"401 is unauthorized", &wasmclient.StatusError{Status: 401}, wasmclient.ErrUnauthorized, true},
		{"403 is forbidden", &wasmclient.StatusError{Status: 403, Code: shared.CodeForbidden}, wasmclient.ErrForbidden, true},
		{"500 is neither", &wasmclient.StatusError{Status: 500}, wasmclient.ErrUnauthorized, false},
		{"rejected", &wasmclient.RejectedError{Rejected: []shared.Rejection{{Channel: "a", Reason: "forbidden"}}}, wasmclient.ErrRejected, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errors.Is(tt.err, tt.target); got != tt.want {
				t.Fatalf("errors.Is(%v, %v) = %v", tt.err, tt.target, got)
			}
			if tt.err.Error() == "" {
				t.Fatal("empty message")
			}
		})
	}
}
