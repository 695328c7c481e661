package main

// The go-app frontend: built into the browser's wasm, and into the server,
// which uses the same components to prerender the page.

import (
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/ssevent/ssevent/shared"
	"github.com/ssevent/ssevent/wasmclient"
	"github.com/ssevent/ssevent/wasmclient/goapp"
)

// registerPages registers the app's pages; both builds call it.
func registerPages() {
	app.Route("/", func() app.Composer { return &Demo{} })
	app.Route("/messages", func() app.Composer { return &Messages{} })
}

// live is the app's one connection and what it brought, shared by every
// page: connected in the browser's main (main_wasm.go) before go-app
// starts, it outlives route changes, so a page change opens no new session
// and loses no event. nil in the server build, which prerenders.
var live *model

// liveEvents are the events the app shows.
var liveEvents = []string{
	wasmclient.EventOpen, wasmclient.EventConnected, wasmclient.EventMessage,
	wasmclient.EventError, wasmclient.EventReconnecting, wasmclient.EventGap,
	privateEvent, broadcastEvent,
}

// model is the client and the view its events build. The client's
// goroutine applies events under mu; components copy the view when they
// mount and on each frame that brought events (goapp.ListenBatch).
type model struct {
	client *wasmclient.Client

	mu sync.Mutex
	v  view
}

// connectLive connects the app's client and starts feeding the model. Its
// handlers are registered before any component's, so the model has
// applied an event before a component hears of it.
func connectLive() *model {
	m := &model{v: view{state: "connecting", feeds: map[string][]entry{}}}
	m.client = wasmclient.Connect("/events", wasmclient.Options{
		Channels:          []string{clockChannel, "news"},
		ReconnectDelay:    time.Second,
		MaxReconnectDelay: 5 * time.Second,
	})
	for _, name := range liveEvents {
		m.client.On(name, func(ev wasmclient.Event) {
			m.mu.Lock()
			defer m.mu.Unlock()
			m.v.apply(ev, m.client.ReadyState())
		})
	}
	return m
}

// snapshot copies the view for a component. The channels are the
// client's own, which Subscribe and Unsubscribe change without an event.
func (m *model) snapshot() view {
	m.mu.Lock()
	defer m.mu.Unlock()
	v := m.v
	v.feeds = maps.Clone(m.v.feeds) // each feed slice is replaced, never changed
	v.order = slices.Clone(m.v.order)
	if chs := m.client.Channels(); len(chs) > 0 {
		v.channels = chs
	}
	return v
}

// view is what the stream brought, as the pages show it.
type view struct {
	state      string // connecting, open, reconnecting, closed
	detail     string
	clientID   string
	reconnects int
	channels   []string
	feeds      map[string][]entry
	order      []string // feed keys, first seen first
	clock      tick
	gapNotice  bool // a gap was reported
}

// Feed keys for messages that have no channel.
const (
	privateFeed   = "private (SendTo)"
	broadcastFeed = "broadcast"
)

// maxFeed is how many messages a feed keeps on the page.
const maxFeed = 50

// entry is one message shown in a feed.
type entry struct {
	ID   string
	Time string
	From string
	Text string
}

// Demo is the main page. Its view is a copy of the app's model, refreshed
// once per frame that brought events; every field is changed on go-app's
// UI goroutine only (goapp.ListenBatch and ctx.Dispatch).
type Demo struct {
	app.Compo
	view

	stop      []func()
	stats     stats
	notice    string
	noticeBad bool
	gapSeen   bool // the gap notice was shown
}

// listen copies the model now and on each frame that brought events, and
// returns the function that stops listening; the connection stays.
func listen(ctx app.Context, update func(view)) func() {
	update(live.snapshot())
	return goapp.ListenBatch(ctx, live.client, func(app.Context, []wasmclient.Event) {
		update(live.snapshot())
	}, liveEvents...)
}

// OnMount runs in the browser only: it listens to the app's client and
// polls the stats. Nothing here runs during server-side prerendering.
func (d *Demo) OnMount(ctx app.Context) {
	if live == nil {
		return
	}
	d.stop = append(d.stop, listen(ctx, func(v view) {
		d.view = v
		if v.gapNotice && !d.gapSeen {
			d.gapSeen = true
			d.say("Some messages were missed while disconnected and are no longer held by the server.", true)
		}
	}))

	done := make(chan struct{})
	d.stop = append(d.stop, func() { close(done) })
	ctx.Async(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			var s stats
			if status, body, err := fetchJSON("GET", "/api/stats", nil); err == nil && status == 200 &&
				json.Unmarshal(body, &s) == nil {
				ctx.Dispatch(func(app.Context) { d.stats = s })
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
}

// OnDismount stops everything OnMount started; the app's connection stays.
func (d *Demo) OnDismount() {
	for _, stop := range d.stop {
		stop()
	}
	d.stop = nil
}

// apply applies one client event to the view; readyState is the client's
// state after it.
func (d *view) apply(ev wasmclient.Event, readyState int) {
	switch ev.Type {
	case wasmclient.EventOpen:
		d.state, d.detail = "open", "stream open, waiting for the hub"
	case wasmclient.EventConnected:
		d.state, d.detail = "open", ""
		d.clientID = ev.ClientID
		if ev.Connected != nil {
			d.channels = ev.Connected.Channels
			if ev.Connected.Resumed {
				d.detail = "session resumed"
			}
		}
	case wasmclient.EventError:
		if ev.Err != nil {
			d.detail = ev.Err.Error()
		}
		if readyState == wasmclient.StateClosed {
			d.state = "closed"
		}
	case wasmclient.EventReconnecting:
		d.state = "reconnecting"
		d.reconnects++
		d.detail = "attempt " + strconv.Itoa(ev.Attempt) + " in " + ev.Delay.Round(10*time.Millisecond).String()
	case wasmclient.EventGap:
		d.gapNotice = true
	case wasmclient.EventMessage:
		if ev.Channel == clockChannel {
			_ = json.Unmarshal(ev.Payload, &d.clock)
			return
		}
		key := ev.Channel
		if key == "" {
			key = privateFeed
		}
		d.add(key, ev)
	case privateEvent:
		d.add(privateFeed, ev)
	case broadcastEvent:
		d.add(broadcastFeed, ev)
	}
}

// add appends a message to a feed, newest first.
func (d *view) add(key string, ev wasmclient.Event) {
	var m message
	e := entry{ID: ev.ID}
	if err := json.Unmarshal(ev.Payload, &m); err == nil && m.Text != "" {
		e.Text, e.From = m.Text, m.From
		if t, err := time.Parse(time.RFC3339Nano, m.Time); err == nil {
			e.Time = t.Local().Format("15:04:05")
		}
	} else {
		e.Text = string(ev.Payload) // any other payload, shown as JSON text
	}
	if _, ok := d.feeds[key]; !ok {
		d.order = append(d.order, key)
	}
	f := append([]entry{e}, d.feeds[key]...)
	if len(f) > maxFeed {
		f = f[:maxFeed]
	}
	d.feeds[key] = f
}

func (d *Demo) say(msg string, bad bool) { d.notice, d.noticeBad = msg, bad }

// input reads a form field from the page.
func input(id string) string {
	v := app.Window().GetElementByID(id)
	if !v.Truthy() {
		return ""
	}
	return v.Get("value").String()
}

func clearInput(id string) {
	if v := app.Window().GetElementByID(id); v.Truthy() {
		v.Set("value", "")
	}
}

// changeChannels subscribes or unsubscribes, off the UI goroutine.
func (d *Demo) changeChannels(ctx app.Context, subscribe bool, ch string) {
	ch = strings.TrimSpace(ch)
	if live == nil {
		return
	}
	c := live.client
	ctx.Async(func() {
		var err error
		if subscribe {
			err = c.Subscribe(ch)
		} else {
			err = c.Unsubscribe(ch)
		}
		ctx.Dispatch(func(app.Context) {
			d.channels = c.Channels()
			switch {
			case errors.Is(err, shared.ErrInvalidChannel):
				d.say(channelHint, true)
			case err != nil:
				d.say(err.Error(), true)
			case subscribe:
				d.say("Subscribed to "+ch+".", false)
			default:
				d.say("Unsubscribed from "+ch+".", false)
			}
		})
	})
}

func (d *Demo) onSubscribe(ctx app.Context, e app.Event) {
	e.PreventDefault()
	ch := input("sub-channel")
	if strings.TrimSpace(ch) == "" {
		d.say("Type a channel name to subscribe to.", true)
		return
	}
	d.changeChannels(ctx, true, ch)
	clearInput("sub-channel")
}

// post sends a form to a demo endpoint, off the UI goroutine, and shows
// the outcome.
func (d *Demo) post(ctx app.Context, path string, req request, ok string, clear string) {
	body, _ := json.Marshal(req)
	ctx.Async(func() {
		status, resp, err := fetchJSON("POST", path, body)
		ctx.Dispatch(func(app.Context) {
			if err != nil {
				d.say("The request failed: "+err.Error(), true)
				return
			}
			if status != 200 {
				var e shared.ErrorResponse
				if json.Unmarshal(resp, &e) != nil || e.Message == "" {
					e.Message = "The server answered " + strconv.Itoa(status) + "."
				}
				d.say(e.Message, true)
				return
			}
			d.say(ok, false)
			clearInput(clear)
		})
	})
}

func (d *Demo) onPublish(ctx app.Context, e app.Event) {
	e.PreventDefault()
	req := request{Channel: input("pub-channel"), Text: input("pub-text"), From: "go-app"}
	d.post(ctx, "/api/publish", req, "Published to "+strings.TrimSpace(req.Channel)+".", "pub-text")
}

func (d *Demo) onPrivate(ctx app.Context, e app.Event) {
	e.PreventDefault()
	req := request{ClientID: d.clientID, Text: input("direct-text"), From: "go-app"}
	d.post(ctx, "/api/private", req, "Sent to your own client id.", "direct-text")
}

func (d *Demo) onBroadcast(ctx app.Context, e app.Event) {
	e.PreventDefault()
	req := request{Text: input("direct-text"), From: "go-app"}
	d.post(ctx, "/api/broadcast", req, "Broadcast to every client.", "direct-text")
}

// Render draws the page. Every piece of user data is a text node or an
// attribute value, never HTML.
func (d *Demo) Render() app.UI {
	state := d.state
	if state == "" {
		state = "connecting"
	}
	return app.Div().Class("page").Body(
		app.Header().Class("top").Body(
			app.H1().Text("ssevent demo"),
			app.Span().Class("kind").Text("go-app · Go/WASM"),
			app.Span().ID("state").Class("state", "state-"+state).Text(state),
			app.Span().ID("state-detail").Class("detail").Text(d.detail),
			app.A().ID("nav-messages").Class("other").Href("/messages").Text("all messages →"),
			app.A().Class("other").Href("/plain.html").Text("plain script-tag page →"),
		),
		app.Main().Class("grid").Body(
			app.Section().Class("card").Body(
				app.H2().Text("Connection"),
				app.P().Body(app.Text("Client id "), app.Code().ID("client-id").Text(d.clientID)),
				app.P().Body(app.Text("Reconnections "), app.Span().ID("reconnects").Text(d.reconnects)),
				app.P().Body(app.Text("Server "), app.Span().ID("instance").Text(d.stats.Instance)),
			),
			app.Section().Class("card").Body(
				app.H2().Text("Channels"),
				app.Form().ID("sub-form").OnSubmit(d.onSubscribe).Body(
					app.Input().ID("sub-channel").Type("text").Placeholder("channel, e.g. chat").AutoComplete(false),
					app.Button().ID("sub-btn").Type("submit").Text("Subscribe"),
				),
				app.Ul().ID("my-channels").Class("chips").Body(
					app.Range(d.channels).Slice(func(i int) app.UI {
						ch := d.channels[i]
						return app.Li().DataSet("channel", ch).Body(
							app.Span().Text(ch),
							app.Button().Class("unsub").Type("button").Title("Unsubscribe").Text("×").
								OnClick(func(ctx app.Context, e app.Event) { d.changeChannels(ctx, false, ch) }),
						)
					}),
				),
			),
			app.Section().Class("card").Body(
				app.H2().Text("Publish to a channel"),
				app.Form().ID("pub-form").OnSubmit(d.onPublish).Body(
					app.Input().ID("pub-channel").Type("text").Value("news").Placeholder("channel"),
					app.Input().ID("pub-text").Type("text").Placeholder("message").AutoComplete(false),
					app.Button().ID("pub-btn").Type("submit").Text("Publish"),
				),
			),
			app.Section().Class("card").Body(
				app.H2().Text("Private and broadcast"),
				app.Form().ID("direct-form").OnSubmit(d.onPrivate).Body(
					app.Input().ID("direct-text").Type("text").Placeholder("message").AutoComplete(false),
					app.Button().ID("private-btn").Type("submit").Text("Send to me"),
					app.Button().ID("broadcast-btn").Type("button").Text("Broadcast").OnClick(d.onBroadcast),
				),
			),
			app.Section().Class("card").Body(
				app.H2().Text("Live"),
				app.P().Body(app.Span().ID("clients").Class("big").Text(d.stats.Clients), app.Text(" clients connected")),
				app.Table().ID("stats").Body(
					app.THead().Body(app.Tr().Body(app.Th().Text("channel"), app.Th().Text("subscribers"))),
					app.TBody().Body(app.Range(d.stats.Channels).Slice(func(i int) app.UI {
						c := d.stats.Channels[i]
						return app.Tr().DataSet("channel", c.Name).Body(app.Td().Text(c.Name), app.Td().Class("n").Text(c.Subscribers))
					})),
				),
			),
			app.Section().Class("card").Body(
				app.H2().Text("Clock channel"),
				app.P().ID("clock").Class("big").Text(clockText(d.clock)),
				app.P().Class("detail").Text("fed by the server every second while subscribed to "+clockChannel),
			),
			app.Div().ID("notice").Class("notice", noticeClass(d.notice, d.noticeBad)).Aria("live", "polite").Text(d.notice),
			feedsSection(d.order, d.feeds),
		),
	)
}

// feedsSection shows the feeds, newest message first.
func feedsSection(order []string, feeds map[string][]entry) app.UI {
	return app.Section().Class("card", "wide").ID("feeds").Body(
		app.H2().Text("Messages"),
		app.Range(order).Slice(func(i int) app.UI {
			key := order[i]
			f := feeds[key]
			return app.Div().Class("feed").DataSet("feed", key).Body(
				app.H3().Text(key),
				app.Ul().Body(app.Range(f).Slice(func(j int) app.UI {
					e := f[j]
					return app.Li().Class("msg").Body(
						app.Span().Class("time").Text(e.Time),
						app.Span().Class("from").Text(e.From),
						app.Span().Class("text").Text(e.Text),
					)
				})),
			)
		}),
	)
}

// Messages is a second page showing every feed: the app's connection and
// its messages carry over from the main page and back.
type Messages struct {
	app.Compo
	view
	stop func()
}

// OnMount runs in the browser only.
func (m *Messages) OnMount(ctx app.Context) {
	if live != nil {
		m.stop = listen(ctx, func(v view) { m.view = v })
	}
}

// OnDismount stops listening; the connection stays.
func (m *Messages) OnDismount() {
	if m.stop != nil {
		m.stop()
	}
}

// Render draws the page.
func (m *Messages) Render() app.UI {
	state := m.state
	if state == "" {
		state = "connecting"
	}
	return app.Div().Class("page").Body(
		app.Header().Class("top").Body(
			app.H1().Text("ssevent demo: all messages"),
			app.Span().Class("kind").Text("go-app · Go/WASM"),
			app.Span().ID("state").Class("state", "state-"+state).Text(state),
			app.Span().ID("state-detail").Class("detail").Text(m.detail),
			app.A().ID("nav-home").Class("other").Href("/").Text("← back"),
		),
		app.Main().Class("grid").Body(
			app.Section().Class("card").Body(
				app.H2().Text("Connection"),
				app.P().Body(app.Text("Client id "), app.Code().ID("client-id").Text(m.clientID)),
				app.P().Body(app.Text("Reconnections "), app.Span().ID("reconnects").Text(m.reconnects)),
			),
			feedsSection(m.order, m.feeds),
		),
	)
}

func clockText(t tick) string {
	if t.Time == "" {
		return "—"
	}
	s := t.Time
	if tt, err := time.Parse(time.RFC3339, t.Time); err == nil {
		s = tt.Local().Format("15:04:05")
	}
	return s + " · up " + t.Uptime + " · " + strconv.Itoa(t.Goroutines) + " goroutines"
}

func noticeClass(notice string, bad bool) string {
	switch {
	case notice == "":
		return "empty"
	case bad:
		return "bad"
	default:
		return "ok"
	}
}
