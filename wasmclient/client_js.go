//go:build js && wasm

package wasmclient

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"syscall/js"
	"time"

	"github.com/ssevent/ssevent/shared"
)

// Client is a connection to an ssevent hub. Create it with Connect; it is
// safe for concurrent use.
type Client struct {
	url     string
	opts    Options
	closing chan struct{} // closed when the client stops, for any reason
	once    sync.Once

	// qmu guards the two queues the browser's callbacks fill. It is never
	// held across a JavaScript call or a blocking operation.
	qmu       sync.Mutex
	sigs      []signal
	events    []Event
	sigNotify chan struct{}
	evNotify  chan struct{}

	mu         sync.Mutex // guards what follows; JavaScript calls made under it never call back synchronously
	state      int
	connected  bool
	userClosed bool
	stopErr    error
	clientID   string
	sessionKey string // the secret of clientID's session, "" when the server gave none
	channels   []string
	lastID     string
	ready      chan struct{} // closed while connected
	handlers   map[string][]*handlerEntry
	tr         transport
	gen        uint64
	inflight   map[*js.Value]struct{}
}

type handlerEntry struct {
	fn      Handler
	removed bool
}

// Connect starts a client for the hub's endpoint at url (absolute, or
// relative to the page's location) and returns at once: the stream opens in
// the background and events reach the handlers registered with On. Invalid
// Options.Channels stop the client at once with an "error" event.
func Connect(url string, opts Options) *Client {
	c := &Client{
		url:       url,
		opts:      opts,
		closing:   make(chan struct{}),
		sigNotify: make(chan struct{}, 1),
		evNotify:  make(chan struct{}, 1),
		ready:     make(chan struct{}),
		handlers:  make(map[string][]*handlerEntry),
		inflight:  make(map[*js.Value]struct{}),
	}
	chs, err := validChannels(opts.Channels)
	c.channels = chs
	go c.dispatch()
	if err != nil {
		c.stop(err)
		return c
	}
	go c.run()
	return c
}

// On registers h for the event name and returns a function that removes
// this registration (safe to call more than once). Handlers of one name run
// in the order they were registered.
func (c *Client) On(event string, h Handler) (remove func()) {
	e := &handlerEntry{fn: h}
	c.mu.Lock()
	c.handlers[event] = append(c.handlers[event], e)
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if e.removed {
			return
		}
		e.removed = true
		hs := c.handlers[event]
		for i, x := range hs {
			if x == e {
				c.handlers[event] = append(hs[:i:i], hs[i+1:]...)
				break
			}
		}
		c.dropName(event)
	}
}

// Off removes every handler of the event name.
func (c *Client) Off(event string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.handlers[event] {
		e.removed = true
	}
	delete(c.handlers, event)
	c.dropName(event)
}

// dropName forgets a name nobody handles. c.mu is held.
func (c *Client) dropName(event string) {
	if len(c.handlers[event]) == 0 {
		delete(c.handlers, event)
	}
}

// ClientID is the id the hub gave, or "" before the first "connected".
func (c *Client) ClientID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.clientID
}

// Channels is the client's channel set as the hub last reported it.
func (c *Client) Channels() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.channels...)
}

// IsConnected reports whether a stream is open and the hub has sent
// "connected" on it.
func (c *Client) IsConnected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.connected
}

// ReadyState is StateConnecting (0), StateOpen (1) or StateClosed (2).
func (c *Client) ReadyState() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// Err is why the client stopped for good, or nil while it runs or after
// Close.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopErr
}

// Done is closed when the client has stopped, by Close or for good.
func (c *Client) Done() <-chan struct{} { return c.closing }

// Close stops the client: the stream and any request in flight are
// aborted, no further request is made, and no handler is called after the
// one running, if any, returns. It is idempotent and returns nil.
func (c *Client) Close() error {
	c.shutdown(true, nil)
	return nil
}

// Subscribe asks the hub to add channels to the client's set and waits for
// its answer (first for a connection, if there is none). Channels the hub
// refused are reported by a *RejectedError (errors.Is(err, ErrRejected));
// the others were added. A refused request gives a *StatusError.
func (c *Client) Subscribe(channels ...string) error {
	return c.SubscribeContext(context.Background(), channels...)
}

// Unsubscribe asks the hub to remove channels from the client's set and
// waits for its answer. See Subscribe.
func (c *Client) Unsubscribe(channels ...string) error {
	return c.UnsubscribeContext(context.Background(), channels...)
}

// SubscribeContext is Subscribe with a context bounding the call: when ctx
// is canceled the call returns an error wrapping ErrAborted and
// context.Canceled; when its deadline passes, or Options.RequestTimeout
// when ctx has no deadline, one wrapping ErrTimeout and
// context.DeadlineExceeded. The request in flight is then aborted; the
// server may have applied it.
func (c *Client) SubscribeContext(ctx context.Context, channels ...string) error {
	return c.change(ctx, shared.ActionSubscribe, channels)
}

// UnsubscribeContext is Unsubscribe with a context bounding the call. See
// SubscribeContext.
func (c *Client) UnsubscribeContext(ctx context.Context, channels ...string) error {
	return c.change(ctx, shared.ActionUnsubscribe, channels)
}

func (c *Client) change(ctx context.Context, action string, channels []string) error {
	chs, err := validChannels(channels)
	if err != nil {
		return err
	}
	if len(chs) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return contextError(err)
	}
	ctx, release := c.bound(ctx)
	defer release()
	err = c.changeCtx(ctx, action, chs)
	if err != nil && !errors.Is(err, ErrClosed) && ctx.Err() != nil {
		return contextError(ctx.Err())
	}
	return err
}

// changeCtx does the work of change; ctx is bounded (see bound).
func (c *Client) changeCtx(ctx context.Context, action string, chs []string) error {
	var id, key string
	for {
		c.mu.Lock()
		closed, connected, ready := c.state == StateClosed, c.connected, c.ready
		id, key = c.clientID, c.sessionKey
		c.mu.Unlock()
		if closed {
			return ErrClosed
		}
		if connected {
			break
		}
		select {
		case <-ready:
		case <-ctx.Done():
			if c.isClosing() {
				return ErrClosed
			}
			return ctx.Err()
		}
	}
	body, err := stringify(js.ValueOf(map[string]any{
		"action":   action,
		"clientId": id,
		"channels": stringArray(chs),
	}))
	if err != nil {
		return err
	}
	var (
		status int
		text   string
	)
	// With a HeaderFunc, a 401 or 403 is tried once more with fresh
	// headers: the credentials may have expired since they were made.
	for retry := c.opts.HeaderFunc != nil; ; retry = false {
		hdr, err := c.userHeaders(ctx)
		if err != nil {
			if c.isClosing() {
				return ErrClosed
			}
			return err
		}
		hdr["Content-Type"] = "application/json"
		if key != "" {
			hdr[shared.HeaderSessionKey] = key
		}
		resp, t, err := c.request(ctx, c.url, map[string]any{
			"method":  "POST",
			"headers": hdr,
			"body":    body,
		}, always)
		if err != nil {
			return err
		}
		status, text = resp.Get("status").Int(), t
		if !retry || (status != 401 && status != 403) {
			break
		}
	}
	v, perr := parseJSON(text)
	if status != 200 {
		return statusError(status, v)
	}
	if perr != nil || v.Type() != js.TypeObject {
		return ErrProtocol
	}
	rej := rejections(v.Get("rejected"))
	c.mu.Lock()
	if c.clientID == id {
		c.channels = stringsOf(v.Get("channels"))
	}
	c.mu.Unlock()
	if len(rej) > 0 {
		return &RejectedError{Rejected: rej}
	}
	return nil
}

// statusError makes a *StatusError from a status and a parsed body.
func statusError(status int, body js.Value) *StatusError {
	return &StatusError{Status: status, Code: str(body, "error"), Message: str(body, "message")}
}

// sendsHeaders reports whether the application sends headers of its own.
// Only then does the stream request carry headers besides Accept
// (Last-Event-ID, the session key): a cross-origin request with no other
// header needs no CORS preflight, as an EventSource's does not.
func (c *Client) sendsHeaders() bool {
	return len(c.opts.Headers) > 0 || c.opts.HeaderFunc != nil
}

// userHeaders returns Options.Headers, overridden by what
// Options.HeaderFunc returns, in a map js.ValueOf accepts. It calls
// HeaderFunc, so c.mu must not be held.
func (c *Client) userHeaders(ctx context.Context) (map[string]any, error) {
	h := make(map[string]any, len(c.opts.Headers)+4)
	for k, v := range c.opts.Headers {
		h[k] = v
	}
	if f := c.opts.HeaderFunc; f != nil {
		more, err := f(ctx)
		if err != nil {
			return nil, errors.Join(ErrHeaders, err)
		}
		for k, v := range more {
			h[k] = v
		}
	}
	return h, nil
}

// lifetime is a context that ends when the client stops. It is made by
// hand, not with context.WithCancel, whose machinery weighs about 5 KB of
// brotli in the wasm.
type lifetime struct{ c *Client }

func (l lifetime) Deadline() (time.Time, bool) { return time.Time{}, false }
func (l lifetime) Done() <-chan struct{}       { return l.c.closing }
func (l lifetime) Value(any) any               { return nil }

func (l lifetime) Err() error {
	if l.c.isClosing() {
		return context.Canceled
	}
	return nil
}

// bound returns a context that ends with ctx, when the client stops, or
// after Options.RequestTimeout when ctx has no deadline of its own
// (Err then reports context.DeadlineExceeded), and a function that
// releases it. It is made by hand, like lifetime.
func (c *Client) bound(ctx context.Context) (context.Context, func()) {
	b := &bounded{Context: ctx, c: c, done: make(chan struct{})}
	var timeout <-chan time.Time
	if _, ok := ctx.Deadline(); !ok {
		if d := c.opts.requestTimeout(); d > 0 {
			t := time.NewTimer(d)
			timeout, b.stopTimer = t.C, t.Stop
		}
	}
	finished := make(chan struct{})
	go func() {
		var err error
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-c.closing:
			err = context.Canceled
		case <-timeout:
			err = context.DeadlineExceeded
		case <-finished:
			return
		}
		b.mu.Lock()
		b.err = err
		b.mu.Unlock()
		close(b.done)
	}()
	return b, func() {
		close(finished)
		if b.stopTimer != nil {
			b.stopTimer()
		}
	}
}

// bounded is ctx that also ends when the client stops or its request
// timeout passes.
type bounded struct {
	context.Context
	c         *Client
	done      chan struct{}
	stopTimer func() bool
	mu        sync.Mutex
	err       error
}

func (b *bounded) Done() <-chan struct{} { return b.done }

func (b *bounded) Err() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

func (c *Client) credentials() string {
	if c.opts.WithCredentials {
		return "include"
	}
	return "same-origin"
}

// request runs fetch(url, init) with an AbortController that Close and ctx
// abort, and reads the body as text when readBody(status) says so (otherwise
// it is dropped). It returns the Response.
func (c *Client) request(ctx context.Context, url string, init map[string]any, readBody func(status int) bool) (resp js.Value, text string, err error) {
	ctrl := js.Global().Get("AbortController").New()
	c.mu.Lock()
	if c.state == StateClosed {
		c.mu.Unlock()
		return js.Undefined(), "", ErrClosed
	}
	c.inflight[&ctrl] = struct{}{}
	c.mu.Unlock()
	done := make(chan struct{})
	defer func() {
		close(done)
		c.mu.Lock()
		delete(c.inflight, &ctrl)
		c.mu.Unlock()
	}()
	if ctx.Done() != nil {
		go func() {
			select {
			case <-ctx.Done():
				ctrl.Call("abort")
			case <-done:
			}
		}()
	}
	init["signal"] = ctrl.Get("signal")
	init["credentials"] = c.credentials()
	init["cache"] = "no-store"
	var p js.Value
	if err := try(func() { p = js.Global().Call("fetch", url, js.ValueOf(init)) }); err != nil {
		return js.Undefined(), "", err
	}
	resp, err = await(p)
	if err == nil && readBody(resp.Get("status").Int()) {
		var t js.Value
		t, err = await(resp.Call("text"))
		if err == nil {
			text = t.String()
		}
	} else if err == nil {
		ctrl.Call("abort")
	}
	if err != nil {
		if c.isClosing() {
			return js.Undefined(), "", ErrClosed
		}
		if ctx.Err() != nil {
			return js.Undefined(), "", ctx.Err()
		}
		return js.Undefined(), "", err
	}
	return resp, text, nil
}

// shutdown stops the client once: by Close (user) or for good (err).
func (c *Client) shutdown(user bool, err error) {
	c.once.Do(func() {
		c.mu.Lock()
		c.userClosed = user
		c.stopErr = err
		c.state = StateClosed
		c.connected = false
		c.sessionKey = ""
		if c.tr != nil {
			c.tr.close()
			c.tr = nil
		}
		for ctrl := range c.inflight {
			ctrl.Call("abort")
		}
		c.mu.Unlock()
		close(c.closing)
		signalOne(c.evNotify)
	})
}

// stop ends the client for good with an "error" event.
func (c *Client) stop(err error) {
	c.emit(Event{Type: EventError, Err: err})
	c.shutdown(false, err)
}

func signalOne(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// emit queues an event for the handlers.
func (c *Client) emit(ev Event) {
	c.qmu.Lock()
	c.events = append(c.events, ev)
	c.qmu.Unlock()
	signalOne(c.evNotify)
}

// push queues a signal from a transport; browser callbacks call it.
func (c *Client) push(s signal) {
	c.qmu.Lock()
	c.sigs = append(c.sigs, s)
	c.qmu.Unlock()
	signalOne(c.sigNotify)
}

// dispatch runs handlers, one event at a time, until the client stops.
// After Close nothing more is delivered; after a stop for good the queue
// (ending with the "error" event) is delivered first.
func (c *Client) dispatch() {
	for {
		c.qmu.Lock()
		evs := c.events
		c.events = nil
		c.qmu.Unlock()
		for _, ev := range evs {
			c.mu.Lock()
			if c.userClosed {
				c.mu.Unlock()
				return
			}
			hs := append([]*handlerEntry(nil), c.handlers[ev.Type]...)
			c.mu.Unlock()
			for _, h := range hs {
				c.mu.Lock()
				skip := h.removed || c.userClosed
				c.mu.Unlock()
				if !skip {
					h.fn(ev)
				}
			}
		}
		if len(evs) > 0 {
			continue
		}
		select {
		case <-c.evNotify:
		case <-c.closing:
			c.qmu.Lock()
			n := len(c.events)
			c.qmu.Unlock()
			if n == 0 {
				return
			}
		}
	}
}

// run is the connection loop: connect, watch, back off, reconnect.
func (c *Client) run() {
	c.mu.Lock()
	_, err := c.streamURL()
	c.mu.Unlock()
	if err != nil {
		c.stop(err)
		return
	}
	attempt := 0
	refreshed := false // HeaderFunc was called again after a 401 or 403
	for {
		connected, err := c.connectOnce()
		if c.isClosing() {
			return
		}
		c.disconnected()
		if connected {
			attempt, refreshed = 0, false
		}
		var se *StatusError
		fatal := errors.As(err, &se) && se.fatal()
		switch {
		case errors.Is(err, ErrSessionEnded), errors.Is(err, ErrStopped):
			c.stop(err)
			return
		case fatal && (c.opts.HeaderFunc == nil || refreshed):
			c.stop(err)
			return
		case c.opts.DisableAutoReconnect:
			c.stop(err)
			return
		}
		var d time.Duration
		var rq *reconnectError
		if errors.As(err, &rq) {
			// The server asked for it: its delay, no error, and no
			// failed attempt.
			d = rq.delay
			c.emit(Event{Type: EventReconnecting, Delay: d})
		} else {
			attempt++
			if max := c.opts.MaxReconnectAttempts; max != 0 && attempt > max {
				// A negative max allows no attempt at all.
				c.stop(errors.Join(ErrMaxReconnectAttempts, err))
				return
			}
			d = c.opts.reconnectWait(attempt, rand.Float64())
			if errors.As(err, &se) && se.RetryAfter > 0 {
				// The server said when to come back.
				d = se.RetryAfter
			}
			if fatal {
				// Refused credentials: ask HeaderFunc for fresh
				// ones and try again at once, once.
				refreshed, d = true, 0
			}
			c.emit(Event{Type: EventError, Err: err})
			c.emit(Event{Type: EventReconnecting, Attempt: attempt, Delay: d})
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-c.closing:
			t.Stop()
			return
		}
	}
}

func (c *Client) isClosing() bool {
	select {
	case <-c.closing:
		return true
	default:
		return false
	}
}

// disconnected records a lost stream.
func (c *Client) disconnected() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != StateClosed {
		c.state = StateConnecting
	}
	if c.connected {
		c.connected = false
		c.ready = make(chan struct{})
	}
}

// streamURL is the GET URL: the endpoint with channels, clientId and
// lastEventId. c.mu is held.
func (c *Client) streamURL() (string, error) {
	var u js.Value
	err := try(func() {
		base := js.Undefined()
		if loc := js.Global().Get("location"); loc.Type() == js.TypeObject {
			base = loc.Get("href")
		}
		u = js.Global().Get("URL").New(c.url, base)
		q := u.Get("searchParams")
		if len(c.channels) > 0 {
			q.Call("set", shared.QueryChannels, joinChannels(c.channels))
		}
		if c.clientID != "" {
			q.Call("set", shared.QueryClientID, c.clientID)
		}
		if c.lastID != "" {
			q.Call("set", shared.QueryLastEventID, c.lastID)
		}
	})
	if err != nil {
		return "", err
	}
	return u.Call("toString").String(), nil
}

// connectOnce opens one stream and watches it until it fails or the client
// stops. connected tells whether the hub sent "connected" on it.
func (c *Client) connectOnce() (connected bool, err error) {
	hdr := map[string]any{}
	own := c.sendsHeaders()
	if own {
		if hdr, err = c.userHeaders(lifetime{c}); err != nil {
			return false, err
		}
	}
	c.mu.Lock()
	if c.state == StateClosed {
		c.mu.Unlock()
		return false, ErrClosed
	}
	c.gen++
	gen := c.gen
	url, err := c.streamURL()
	if err != nil {
		c.mu.Unlock()
		return false, err
	}
	hdr["Accept"] = "text/event-stream"
	if own {
		// Headers that would make a cross-origin request need a
		// preflight: only when the application sends its own. The
		// query carries the last event id anyway, and the hub's
		// cookie the session key.
		if c.lastID != "" {
			hdr[shared.HeaderLastEventID] = c.lastID
		}
		if c.clientID != "" && c.sessionKey != "" {
			// Resuming: the session's key, in a header only,
			// never in the URL.
			hdr[shared.HeaderSessionKey] = c.sessionKey
		}
	}
	t := c.startFetch(gen, url, hdr)
	c.tr = t
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		t.close()
		if c.tr == t {
			c.tr = nil
		}
		c.mu.Unlock()
	}()

	var (
		watchdog *time.Timer
		stale    <-chan time.Time
		beat     time.Duration
	)
	defer func() {
		if watchdog != nil {
			watchdog.Stop()
		}
	}()
	for {
		select {
		case <-c.closing:
			return connected, ErrClosed
		case <-stale:
			return connected, ErrStale
		case <-c.sigNotify:
		}
		c.qmu.Lock()
		sigs := c.sigs
		c.sigs = nil
		c.qmu.Unlock()
		for _, s := range sigs {
			if s.gen != gen {
				continue
			}
			switch s.kind {
			case sigOpen:
				c.mu.Lock()
				if c.state != StateClosed {
					c.state = StateOpen
				}
				c.mu.Unlock()
				c.emit(Event{Type: EventOpen})
			case sigFail:
				return connected, s.err
			case sigEvent:
				if watchdog != nil {
					watchdog.Reset(3 * beat)
				}
				conn, err := c.handle(s.ev)
				if err != nil {
					return connected, err
				}
				if conn != nil {
					connected = true
					if conn.Heartbeat > 0 && watchdog == nil {
						beat = time.Duration(conn.Heartbeat) * time.Millisecond
						watchdog = time.NewTimer(3 * beat)
						stale = watchdog.C
					}
				}
			}
		}
	}
}

// handle turns a server event into a client event. It returns the data of
// a "connected" event, and a *reconnectError after a "reconnect" event: the
// stream is over.
func (c *Client) handle(ev shared.Event) (_ *shared.Connected, end error) {
	out := Event{Type: ev.Name, ID: ev.ID, Data: string(ev.Data)}
	switch ev.Name {
	case shared.EventConnected:
		conn, key, data, err := parseConnected(out.Data)
		if err != nil {
			return nil, errors.Join(ErrProtocol, err)
		}
		c.mu.Lock()
		if key != "" || conn.ClientID != c.clientID {
			// A resumed session may come back without its key,
			// which the client then keeps; a new one brings its
			// own, or none.
			c.sessionKey = key
		}
		c.clientID = conn.ClientID
		c.channels = conn.Channels
		if ev.ID != "" {
			// The stream's starting position: presenting it on the
			// next reconnect loses nothing even if no other event
			// arrives before the stream breaks.
			c.lastID = ev.ID
		}
		if c.state != StateClosed {
			c.state = StateOpen
			c.connected = true
			close(c.ready)
		}
		c.mu.Unlock()
		out.ID, out.Data = "", data
		out.ClientID, out.Connected = conn.ClientID, conn
		c.emit(out)
		return conn, nil
	case shared.EventMessage:
		ch, payload, err := parseEnvelope(out.Data)
		if err != nil {
			return nil, errors.Join(ErrProtocol, err)
		}
		out.Channel, out.Payload = ch, payload
	case shared.EventHeartbeat:
		out.ID = ""
	case shared.EventGap:
		gap, err := parseGap(out.Data)
		if err != nil {
			return nil, errors.Join(ErrProtocol, err)
		}
		out.ID, out.Gap = "", gap
	case shared.EventReconnect:
		rc, err := parseReconnect(out.Data)
		if err != nil {
			return nil, errors.Join(ErrProtocol, err)
		}
		out.ID, out.Reconnect = "", rc
		end = &reconnectError{reason: rc.Reason, delay: time.Duration(rc.Retry) * time.Millisecond}
	case shared.EventChannels:
		chs, err := parseChannels(out.Data)
		if err != nil {
			return nil, errors.Join(ErrProtocol, err)
		}
		c.mu.Lock()
		c.channels = chs
		c.mu.Unlock()
		out.ID, out.Channels = "", append(make([]string, 0, len(chs)), chs...)
	case shared.EventClosed:
		// Whatever its data, the session is over: coming back with
		// the same id is what the server asked not to do.
		out.ID, out.Closed = "", parseClosed(out.Data)
		end = ErrSessionEnded
	default:
		out.Payload = shared.RawMessage(out.Data)
	}
	if ev.ID != "" {
		c.mu.Lock()
		c.lastID = ev.ID
		c.mu.Unlock()
	}
	c.emit(out)
	return nil, end
}

// reconnectError ends a stream the server closed with a "reconnect" event:
// the client comes back after delay, without counting a failure. It wraps
// ErrStreamEnded, which is what Err reports with DisableAutoReconnect.
type reconnectError struct {
	reason string
	delay  time.Duration
}

func (e *reconnectError) Error() string {
	return ErrStreamEnded.Error() + ": the server asked to reconnect in " + e.delay.String() + " (" + e.reason + ")"
}

func (e *reconnectError) Unwrap() error { return ErrStreamEnded }

func always(int) bool { return true }
