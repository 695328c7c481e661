//go:build !(js && wasm)

package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/starfederation/datastar-go/datastar"

	"github.com/ssevent/ssevent"
)

// TestDatastarFramesMatchSDK: what a Datastar stream of the hub carries
// for each patch is, byte for byte, what the Datastar Go SDK
// (github.com/starfederation/datastar-go v1.2.2) writes for the same patch
// with the same event id.
func TestDatastarFramesMatchSDK(t *testing.T) {
	hub := ssevent.New(ssevent.Config{HeartbeatInterval: -1})
	srv := httptest.NewServer(hub)
	t.Cleanup(func() {
		_ = hub.Close(context.Background())
		srv.Close()
	})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/?channels=ui", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Datastar-Request", "true")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	body := bufio.NewReader(resp.Body)
	// The stream's head: the retry line and the connected event.
	for connected := false; ; {
		line, err := body.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		connected = connected || line == "event: connected\n"
		if connected && line == "\n" {
			break
		}
	}

	// sdk returns what the SDK writes for one call on a fresh response.
	sdk := func(send func(*datastar.ServerSentEventGenerator) error) []byte {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if err := send(datastar.NewSSE(rec, r)); err != nil {
			t.Fatal(err)
		}
		return rec.Body.Bytes()
	}
	signals := []byte(`{"count":3,"user":{"name":"Zoë \u003c3","tags":["a","b"]},"gone":null}`)
	cases := []struct {
		name    string
		publish func() error
		sdk     func(sse *datastar.ServerSentEventGenerator, id string) error
	}{
		{"html fragment",
			func() error { return hub.SendHTML(ctx, "ui", `<div id="clock">12:00</div>`) },
			func(sse *datastar.ServerSentEventGenerator, id string) error {
				return sse.PatchElements(`<div id="clock">12:00</div>`, datastar.WithPatchElementsEventID(id))
			}},
		{"several lines, selector, inner, view transition",
			func() error {
				return hub.PatchElements(ctx, "ui", "<ul>\n  <li>a & b</li>\n  <li>“c”</li>\n</ul>",
					ssevent.WithSelector("#list > .items"), ssevent.WithMode(ssevent.PatchInner), ssevent.WithViewTransition())
			},
			func(sse *datastar.ServerSentEventGenerator, id string) error {
				return sse.PatchElements("<ul>\n  <li>a & b</li>\n  <li>“c”</li>\n</ul>",
					datastar.WithSelector("#list > .items"), datastar.WithMode(datastar.ElementPatchModeInner),
					datastar.WithUseViewTransitions(true), datastar.WithPatchElementsEventID(id))
			}},
		{"svg, append",
			func() error {
				return hub.PatchElements(ctx, "ui", `<circle r="4"></circle>`, ssevent.WithSelector("#chart"),
					ssevent.WithMode(ssevent.PatchAppend), ssevent.WithNamespace("svg"))
			},
			func(sse *datastar.ServerSentEventGenerator, id string) error {
				return sse.PatchElements(`<circle r="4"></circle>`, datastar.WithSelector("#chart"),
					datastar.WithMode(datastar.ElementPatchModeAppend), datastar.WithNamespace(datastar.NamespaceSVG),
					datastar.WithPatchElementsEventID(id))
			}},
		{"outer given explicitly",
			func() error {
				return hub.PatchElements(ctx, "ui", `<p id="p">x</p>`, ssevent.WithMode(ssevent.PatchOuter))
			},
			func(sse *datastar.ServerSentEventGenerator, id string) error {
				return sse.PatchElements(`<p id="p">x</p>`, datastar.WithMode(datastar.ElementPatchModeOuter),
					datastar.WithPatchElementsEventID(id))
			}},
		{"every other mode",
			func() error {
				for _, m := range []ssevent.PatchMode{ssevent.PatchReplace, ssevent.PatchPrepend, ssevent.PatchBefore, ssevent.PatchAfter} {
					if err := hub.PatchElements(ctx, "ui", `<i id="i"></i>`, ssevent.WithMode(m)); err != nil {
						return err
					}
				}
				return nil
			},
			nil},
		{"remove by selector",
			func() error {
				return hub.PatchElements(ctx, "ui", "", ssevent.WithSelector("#toast"), ssevent.WithMode(ssevent.PatchRemove))
			},
			func(sse *datastar.ServerSentEventGenerator, id string) error {
				return sse.PatchElements("", datastar.WithSelector("#toast"), datastar.WithMode(datastar.ElementPatchModeRemove),
					datastar.WithPatchElementsEventID(id))
			}},
		{"signals",
			func() error { return hub.PatchSignals(ctx, "ui", signals) },
			func(sse *datastar.ServerSentEventGenerator, id string) error {
				return sse.PatchSignals(signals, datastar.WithPatchSignalsEventID(id))
			}},
		{"signals only if missing, from a Go value",
			func() error {
				return hub.PatchSignals(ctx, "ui", map[string]any{"open": true}, ssevent.OnlyIfMissing())
			},
			func(sse *datastar.ServerSentEventGenerator, id string) error {
				return sse.PatchSignals([]byte(`{"open":true}`), datastar.WithOnlyIfMissing(true),
					datastar.WithPatchSignalsEventID(id))
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.sdk == nil {
				// Several publications, each compared with the SDK's
				// writing of the same mode.
				modes := []datastar.ElementPatchMode{datastar.ElementPatchModeReplace, datastar.ElementPatchModePrepend,
					datastar.ElementPatchModeBefore, datastar.ElementPatchModeAfter}
				if err := tc.publish(); err != nil {
					t.Fatal(err)
				}
				for _, m := range modes {
					got := readFrame(t, body)
					id := frameID(t, got)
					want := sdk(func(sse *datastar.ServerSentEventGenerator) error {
						return sse.PatchElements(`<i id="i"></i>`, datastar.WithMode(m), datastar.WithPatchElementsEventID(id))
					})
					if !bytes.Equal(got, want) {
						t.Errorf("mode %s:\n got %q\nwant %q", m, got, want)
					}
				}
				return
			}
			if err := tc.publish(); err != nil {
				t.Fatal(err)
			}
			id := hub.LastEventID()
			want := sdk(func(sse *datastar.ServerSentEventGenerator) error { return tc.sdk(sse, id) })
			got := readFrame(t, body)
			if !bytes.Equal(got, want) {
				t.Errorf("\n got %q\nwant %q", got, want)
			}
		})
	}
}

// readFrame reads one Datastar frame: from its event line to the blank
// line and the extra line break the SDK ends each one with.
func readFrame(t *testing.T, r *bufio.Reader) []byte {
	t.Helper()
	var b []byte
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			if err == io.EOF {
				t.Fatalf("stream ended after %q", b)
			}
			t.Fatal(err)
		}
		b = append(b, line...)
		if bytes.HasSuffix(b, []byte("\n\n\n")) {
			return b
		}
	}
}

// frameID returns the id line's value of a frame.
func frameID(t *testing.T, frame []byte) string {
	t.Helper()
	for line := range bytes.SplitSeq(frame, []byte("\n")) {
		if id, ok := bytes.CutPrefix(line, []byte("id: ")); ok {
			return string(id)
		}
	}
	t.Fatalf("no id in %q", frame)
	return ""
}
