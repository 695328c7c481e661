package ssevent_test

// The fuzz targets of the hub's HTTP side, on the core (internal/hubtest
// holds their bodies). Their corpora are in testdata/fuzz; make fuzz runs
// them longer.

import (
	"testing"

	"github.com/ssevent/ssevent/internal/hubtest"
)

// FuzzPostBody sends any POST body through the handler: see
// hubtest.FuzzPostBody.
func FuzzPostBody(f *testing.F) { hubtest.FuzzPostBody(f, coreMount) }

// FuzzStreamQuery opens streams with any ?channels= and Last-Event-ID: see
// hubtest.FuzzStreamQuery.
func FuzzStreamQuery(f *testing.F) { hubtest.FuzzStreamQuery(f, coreMount) }

// FuzzResume resumes sessions with any Last-Event-ID and clientId: see
// hubtest.FuzzResume.
func FuzzResume(f *testing.F) { hubtest.FuzzResume(f, coreMount) }

// FuzzStreamRoundTrip publishes any channel, event name and payload and
// reads them back from a stream: see hubtest.FuzzStreamRoundTrip.
func FuzzStreamRoundTrip(f *testing.F) { hubtest.FuzzStreamRoundTrip(f, coreMount) }
