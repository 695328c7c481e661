package ssevent_test

import (
	"net/http"
	"os"
	"testing"

	"github.com/ssevent/ssevent"
	"github.com/ssevent/ssevent/internal/hubtest"
	"github.com/ssevent/ssevent/internal/leakcheck"
)

// TestMain fails the package when goroutines outlive the tests.
func TestMain(m *testing.M) { os.Exit(leakcheck.Run(m)) }

// coreMount serves the hub with net/http alone: an http.ServeMux routing
// /events to it.
var coreMount = hubtest.Mount{
	Name: "net/http",
	New: func(cfg ssevent.Config, must bool) (*ssevent.Hub, http.Handler, error) {
		var h *ssevent.Hub
		if must {
			h = ssevent.New(cfg)
		} else {
			var err error
			if h, err = ssevent.NewHub(cfg); err != nil {
				return nil, nil, err
			}
		}
		mux := http.NewServeMux()
		mux.Handle("/events", h)
		return h, mux, nil
	},
}

// TestHub runs the hub's whole test-suite (internal/hubtest) on the core.
func TestHub(t *testing.T) { hubtest.Run(t, coreMount) }
