package ssevent_test

import (
	"context"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/ssevent/ssevent"
	"github.com/ssevent/ssevent/shared"
)

// An htmx 2 page's stream (?format=htmx2) gets each channel's messages as
// events named after the channel, HTML one data line per line; a Datastar
// stream (its Datastar-Request header) gets patch-elements events. The
// fragment is rendered once, with html/template, and published once.
func ExampleHub_SendHTML() {
	hub := ssevent.New(ssevent.Config{HeartbeatInterval: -1})
	srv := httptest.NewServer(hub)
	defer srv.Close()
	defer hub.Close(context.Background())
	var bodies []io.Closer
	defer func() {
		for _, b := range bodies {
			b.Close()
		}
	}()

	open := func(query string, header http.Header) *shared.Decoder {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/events?"+query, nil)
		req.Header = header
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		bodies = append(bodies, resp.Body)
		d := shared.NewDecoder(resp.Body, 0)
		_, _ = d.Next() // connected
		return d
	}
	htmx := open("channels=news&format=htmx2", nil)
	datastar := open("channels=news", http.Header{"Datastar-Request": {"true"}})

	item := template.Must(template.New("item").Parse("<li>\n  {{.}}\n</li>"))
	var b strings.Builder
	_ = item.Execute(&b, "Tom & Jerry")
	_ = hub.SendHTML(context.Background(), "news", b.String())

	ev, _ := htmx.Next()
	fmt.Printf("htmx 2: event %q, data %q\n", ev.Name, ev.Data)
	ev, _ = datastar.Next()
	fmt.Printf("Datastar: event %q, data %q\n", ev.Name, ev.Data)
	// Output:
	// htmx 2: event "news", data "<li>\n  Tom &amp; Jerry\n</li>"
	// Datastar: event "datastar-patch-elements", data "elements <li>\nelements   Tom &amp; Jerry\nelements </li>"
}

// A patch appending to an element, and one setting Datastar signals.
func ExampleHub_PatchElements() {
	hub := ssevent.New(ssevent.Config{HeartbeatInterval: -1})
	defer hub.Close(context.Background())
	ctx := context.Background()

	err := hub.PatchElements(ctx, "chat", `<li>hi</li>`,
		ssevent.WithSelector("#messages"), ssevent.WithMode(ssevent.PatchAppend))
	fmt.Println(err)
	err = hub.PatchSignals(ctx, "chat", map[string]any{"unread": 1})
	fmt.Println(err)
	err = hub.PatchElements(ctx, "chat", `<li>hi</li>`, ssevent.WithMode("sideways"))
	fmt.Println(err)
	// Output:
	// <nil>
	// <nil>
	// ssevent: invalid patch: unknown mode "sideways"
}
