package ssevent

// The HTTP side of the hub: GET opens a stream, POST changes a client's
// channels. Everything here works on net/http types; framework adapters
// (server for Echo v4, echov5 for Echo v5) call ServeHTTP.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/ssevent/ssevent/shared"
)

// ServeHTTP serves the hub's route: mount it for GET and POST on one path,
// mux.Handle("/events", hub). GET opens an event stream and returns when
// the stream ends, POST subscribes and unsubscribes, other methods get
// 405. Refusals are JSON {"error", "message"} bodies (docs/PROTOCOL.md).
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		// A stream taken over parks here rather than deeper in
		// serveGet: the goroutine keeps its stack for the stream's
		// life, and with this shallow frame the stack shrinks to
		// 8 KiB.
		st, dc := h.serveGet(w, r)
		switch {
		case dc != nil:
			if h.cfg.ReleaseHandler {
				go st.watch(dc)
				return
			}
			st.park(dc, w)
		case st != nil && st.endsAbruptly():
			abort(w)
		}
	case http.MethodPost:
		h.servePost(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		h.refuse(w, http.StatusMethodNotAllowed, shared.CodeMethodNotAllowed, "use GET to open a stream or POST to subscribe")
	}
}

// refuse writes an error body, and counts it.
func (h *Hub) refuse(w http.ResponseWriter, status int, code, msg string) {
	h.counters.refusals.add(code)
	writeJSON(w, status, shared.ErrorResponse{Error: code, Message: msg})
}

// writeJSON writes v as a JSON response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"internal","message":"cannot encode the response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func (h *Hub) isClosed() bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.closed
}

// serveGet opens a stream. When it takes the stream over from net/http, it
// returns the stream and its connection for ServeHTTP to park on.
func (h *Hub) serveGet(w http.ResponseWriter, r *http.Request) (*stream, *detachedConn) {
	if !h.originAllowed(r) {
		h.refuse(w, http.StatusForbidden, shared.CodeOriginRefused, "origin not allowed")
		return nil, nil
	}
	if r.ContentLength != 0 {
		// A client that sends a body with its stream request would
		// keep sending while the stream runs.
		h.refuse(w, http.StatusBadRequest, shared.CodeBadRequest, "a stream request has no body")
		return nil, nil
	}
	q := r.URL.Query()
	dialect, ok := dialectOf(r, q)
	if !ok {
		h.refuse(w, http.StatusBadRequest, shared.CodeBadRequest,
			"unknown format: use json, htmx2, htmx4 or datastar")
		return nil, nil
	}
	channels, err := shared.ParseChannels(q.Get(shared.QueryChannels))
	if err != nil {
		h.refuse(w, http.StatusUnprocessableEntity, shared.CodeInvalidChannel, err.Error())
		return nil, nil
	}
	if n := len(channels) + boolInt(!h.cfg.DisableDefaultChannel); n > h.cfg.MaxChannelsPerClient {
		h.refuse(w, http.StatusUnprocessableEntity, shared.CodeTooManyChannels,
			fmt.Sprintf("%d channels asked, limit %d", n, h.cfg.MaxChannelsPerClient))
		return nil, nil
	}
	lastID := r.Header.Get(shared.HeaderLastEventID)
	if lastID == "" {
		lastID = q.Get(shared.QueryLastEventID)
	}
	lastEventID, err := shared.ParseEventID(lastID)
	if err != nil {
		h.refuse(w, http.StatusBadRequest, shared.CodeBadRequest, "malformed Last-Event-ID")
		return nil, nil
	}
	resumeID := q.Get(shared.QueryClientID)
	if resumeID != "" && !validClientID(resumeID) {
		h.refuse(w, http.StatusBadRequest, shared.CodeBadRequest, "malformed clientId")
		return nil, nil
	}
	page, fromPage := q.Get(QueryPage), false
	if page != "" && !validPageID(page) {
		h.refuse(w, http.StatusBadRequest, shared.CodeBadRequest, "malformed page")
		return nil, nil
	}
	if resumeID == "" && page != "" && r.Header.Get(shared.HeaderLastEventID) == "" {
		// A stream made anew by its page without its last event id
		// (htmx 2's EventSource after a refused reconnection) resumes
		// the page's session (page.go). One that has its id replays
		// from it, as any.
		resumeID, fromPage = pageSession(r, page)
	}
	ident, err := h.identify(r)
	if err != nil {
		h.refuseHook(w, "Identify", err)
		return nil, nil
	}
	if h.cfg.OnConnect != nil {
		if err := callHook(func() error { return h.cfg.OnConnect(r) }); err != nil {
			h.refuseHook(w, "OnConnect", err)
			return nil, nil
		}
	}
	if !canFlush(w) {
		h.log.Error(errNoFlush.Error())
		h.refuse(w, http.StatusInternalServerError, shared.CodeStreamingBroken, errNoFlush.Error())
		return nil, nil
	}
	if h.isClosed() {
		h.refuse(w, http.StatusServiceUnavailable, shared.CodeHubClosed, "the server is shutting down")
		return nil, nil
	}

	var (
		rejected []shared.Rejection
		st       *stream
		resumed  bool
		set      []string
	)
	asked, placed := h.place(r.Context(), lastEventID)
	srv, _ := r.Context().Value(http.ServerContextKey).(*http.Server)
	req := openRequest{after: asked, unplaced: !placed, lastID: lastID, srv: srv, http2: isHTTP2(r), owner: ident, dialect: dialect}
	var after uint64
	if resumeID != "" && h.cfg.Identify == nil && presentedKey(r, resumeID) == "" {
		// No key at all (a browser that sent no cookie): not a
		// resumption, a new session. A wrong key is refused below.
		resumeID = ""
	}
	if resumeID != "" {
		// Only the session's owner resumes it, and with the rights it
		// has now: each channel it holds is approved again.
		key := presentedKey(r, resumeID)
		if h.cfg.Identify == nil {
			req.key = key
		}
		held, ok, lerr := h.sessionFor(r.Context(), resumeID, ident, key)
		if fromPage && errors.Is(lerr, errNotOwner) {
			// The page's session is another user's now (one signed out,
			// another in): not a resumption.
			resumeID, ok, lerr, req.key = "", false, nil, ""
		}
		switch {
		case errors.Is(lerr, errNotOwner):
			h.refuse(w, http.StatusForbidden, shared.CodeForbidden, "the session belongs to another client")
			return nil, nil
		case lerr != nil:
			w.Header().Set("Retry-After", strconv.Itoa(int(max(h.cfg.Retry/time.Second, 1))))
			h.refuse(w, http.StatusServiceUnavailable, shared.CodeUnavailable, "the session cannot be loaded now; retry")
			return nil, nil
		case ok:
			_, rejected, err = h.approve(r, resumeID, slices.DeleteFunc(held, func(ch string) bool { return ch == shared.DefaultChannel }))
			if err != nil {
				h.refuseHook(w, "OnSubscribe", err)
				return nil, nil
			}
			for _, rj := range rejected {
				req.drop = append(req.drop, rj.Channel)
			}
		}
		if resumeID != "" {
			req.resumeID = resumeID
			rq := req
			if fromPage {
				// The URL's lastEventId is the page's first position:
				// the session knows a later one, the last event it
				// wrote.
				rq.after, rq.unplaced, rq.lastID = 0, false, ""
			}
			st, resumed, set, after, err = h.openResume(r.Context(), rq)
		}
	}
	if resumeID == "" || errors.Is(err, errNoResume) {
		// Not a resumption: approve the asked channels, then open.
		var approved []string
		// The id is made now so that OnSubscribe sees the client it
		// decides for.
		newID := uuid.NewString()
		approved, rejected, err = h.approve(r, newID, channels)
		if err != nil {
			h.refuseHook(w, "OnSubscribe", err)
			return nil, nil
		}
		req.resumeID, req.newID, req.channels, req.drop, req.key = "", newID, approved, nil, ""
		if h.cfg.Identify == nil {
			req.key = newSessionKey()
		}
		st, resumed, set, after, err = h.open(req)
	}
	switch {
	case errors.Is(err, ErrClosed):
		h.refuse(w, http.StatusServiceUnavailable, shared.CodeHubClosed, "the server is shutting down")
		return nil, nil
	case errors.Is(err, ErrUnavailable):
		w.Header().Set("Retry-After", strconv.Itoa(int(max(h.cfg.Retry/time.Second, 1))))
		h.refuse(w, http.StatusServiceUnavailable, shared.CodeUnavailable, "the session cannot be loaded now; retry")
		return nil, nil
	case errors.Is(err, ErrTooManyConnections):
		w.Header().Set("Retry-After", strconv.Itoa(int(max(h.cfg.Retry/time.Second, 1))))
		h.refuse(w, http.StatusServiceUnavailable, shared.CodeTooManyClients,
			fmt.Sprintf("the server holds its maximum of %d streams", h.cfg.MaxTotalConnections))
		return nil, nil
	case err != nil:
		h.refuse(w, http.StatusInternalServerError, shared.CodeInternal, "cannot open the stream")
		return nil, nil
	}
	var dc *detachedConn // a stream taken over ends itself (detach.go)
	defer func() {
		if dc == nil {
			h.closeStream(st)
		}
	}()
	h.sessions.opened(r.Context(), st, resumed, set)

	hb := int64(0)
	if h.cfg.HeartbeatInterval > 0 {
		hb = h.cfg.HeartbeatInterval.Milliseconds()
	}
	if req.key != "" {
		h.setKeyCookie(w, r, st.sess.id, req.key)
	}
	if page != "" {
		h.setPageCookie(w, r, page, st.sess.id)
	}
	data, _ := json.Marshal(shared.Connected{ClientID: st.sess.id, Channels: set, Rejected: rejected, Resumed: resumed, Heartbeat: hb, SessionKey: req.key})
	first := shared.AppendRetry(nil, h.cfg.Retry)
	// The connected event's id is the stream's starting position: the
	// replay point, or the hub's delivery position at attach. A client
	// that reconnects before any other event presents it as its
	// Last-Event-ID and misses nothing.
	var posID string
	if st.start > 0 {
		posID = shared.EventID{Epoch: h.epoch(), Seq: st.start}.String()
	}
	first, _ = shared.AppendEvent(first, &shared.Event{ID: posID, Name: shared.EventConnected, Data: data})

	h.counters.connects.Add(1)
	if after > 0 {
		h.counters.replays.Add(1)
		h.replays.Add(1)
		go h.replay(st, after, lastID)
	}
	h.watchServer(srv, r)
	dc = st.serve(r.Context(), r, w, first)
	return st, dc
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// validClientID reports whether id has the form of the ids the hub gives.
func validClientID(id string) bool {
	u, err := uuid.Parse(id)
	return err == nil && len(id) == 36 && u.String() == id
}

// approve runs OnSubscribe for each channel. A refusal rejects the channel;
// any other error fails the whole request.
func (h *Hub) approve(r *http.Request, clientID string, channels []string) (ok []string, rejected []shared.Rejection, err error) {
	if h.cfg.OnSubscribe == nil {
		return channels, nil, nil
	}
	for _, ch := range channels {
		herr := callHook(func() error { return h.cfg.OnSubscribe(clientID, ch, r) })
		if herr == nil {
			ok = append(ok, ch)
			continue
		}
		var he *HTTPError
		if errors.As(herr, &he) && he.Code >= 400 && he.Code < 500 {
			rejected = append(rejected, shared.Rejection{Channel: ch, Reason: httpErrorText(he)})
			continue
		}
		return nil, nil, herr
	}
	return ok, rejected, nil
}

// hookPanic is the error of a hook that panicked.
type hookPanic struct{ v any }

func (p hookPanic) Error() string { return fmt.Sprintf("hook panicked: %v", p.v) }

// callHook runs fn, turning a panic into an error.
func callHook(fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = hookPanic{v}
		}
	}()
	return fn()
}

// refuseHook answers a request whose hook refused or failed.
func (h *Hub) refuseHook(w http.ResponseWriter, hook string, err error) {
	var he *HTTPError
	if errors.As(err, &he) && he.Code >= 400 && he.Code < 500 {
		code := shared.CodeForbidden
		if he.Code == http.StatusUnauthorized {
			code = shared.CodeUnauthorized
		}
		h.refuse(w, he.Code, code, httpErrorText(he))
		return
	}
	h.log.Error("ssevent: hook failed", "hook", hook, "err", err)
	h.refuse(w, http.StatusInternalServerError, shared.CodeInternal, hook+" failed")
}

func httpErrorText(he *HTTPError) string {
	if he.Message != "" {
		return he.Message
	}
	return http.StatusText(he.Code)
}

var errTrailingData = errors.New("trailing data after the JSON object")

// bodyErrorText explains a POST body the decoder refused. Only the
// decoder's own errors are shown: a failed read (a timeout, a reset) would
// reveal the server's addresses and says nothing useful to the client.
func bodyErrorText(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	if errors.As(err, &se) || errors.As(err, &te) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, errTrailingData) {
		return "body is not a subscribe request: " + err.Error()
	}
	return "the body could not be read"
}

func (h *Hub) servePost(w http.ResponseWriter, r *http.Request) {
	if !h.originAllowed(r) {
		h.refuse(w, http.StatusForbidden, shared.CodeOriginRefused, "origin not allowed")
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		h.refuse(w, http.StatusUnsupportedMediaType, shared.CodeUnsupportedMedia, "send Content-Type: application/json")
		return
	}
	limit := int64(h.cfg.MaxPayloadSize)
	if r.ContentLength > limit {
		h.refuse(w, http.StatusRequestEntityTooLarge, shared.CodePayloadTooLarge,
			fmt.Sprintf("body over %d bytes", limit))
		return
	}
	var req shared.SubscribeRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	err := dec.Decode(&req)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errTrailingData
			var mbe *http.MaxBytesError
			if errors.As(terr, &mbe) { // over the limit after the object
				err = terr
			}
		}
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			h.refuse(w, http.StatusRequestEntityTooLarge, shared.CodePayloadTooLarge,
				fmt.Sprintf("body over %d bytes", limit))
			return
		}
		h.refuse(w, http.StatusBadRequest, shared.CodeInvalidJSON, bodyErrorText(err))
		return
	}
	if req.Action != shared.ActionSubscribe && req.Action != shared.ActionUnsubscribe {
		h.refuse(w, http.StatusBadRequest, shared.CodeBadRequest, `action must be "subscribe" or "unsubscribe"`)
		return
	}
	if !validClientID(req.ClientID) {
		h.refuse(w, http.StatusBadRequest, shared.CodeBadRequest, "missing or malformed clientId")
		return
	}
	if len(req.Channels) == 0 {
		h.refuse(w, http.StatusBadRequest, shared.CodeBadRequest, "channels is empty")
		return
	}
	if len(req.Channels) > h.cfg.MaxChannelsPerClient {
		h.refuse(w, http.StatusUnprocessableEntity, shared.CodeTooManyChannels,
			fmt.Sprintf("%d channels asked, limit %d", len(req.Channels), h.cfg.MaxChannelsPerClient))
		return
	}
	for _, ch := range req.Channels {
		if err := shared.ValidChannel(ch); err != nil {
			h.refuse(w, http.StatusUnprocessableEntity, shared.CodeInvalidChannel, err.Error())
			return
		}
	}
	if h.isClosed() {
		h.refuse(w, http.StatusServiceUnavailable, shared.CodeHubClosed, "the server is shutting down")
		return
	}
	ident, err := h.identify(r)
	if err != nil {
		h.refuseHook(w, "Identify", err)
		return
	}
	switch _, ok, err := h.sessionFor(r.Context(), req.ClientID, ident, presentedKey(r, req.ClientID)); {
	case errors.Is(err, errNotOwner):
		h.refuse(w, http.StatusForbidden, shared.CodeForbidden, "the session belongs to another client")
		return
	case err != nil:
		w.Header().Set("Retry-After", strconv.Itoa(int(max(h.cfg.Retry/time.Second, 1))))
		h.refuse(w, http.StatusServiceUnavailable, shared.CodeUnavailable, "the session cannot be checked now; retry")
		return
	case !ok:
		h.refuse(w, http.StatusNotFound, shared.CodeUnknownClient, "no such client")
		return
	}

	resp := shared.SubscribeResponse{ClientID: req.ClientID, Action: req.Action, Accepted: []string{}, Rejected: []shared.Rejection{}}
	var set []string
	if req.Action == shared.ActionUnsubscribe {
		set, err = h.unsubscribe(r.Context(), req.ClientID, req.Channels, false)
		resp.Accepted = req.Channels
	} else {
		var ok []string
		ok, resp.Rejected, err = h.approve(r, req.ClientID, req.Channels)
		if err != nil {
			h.refuseHook(w, "OnSubscribe", err)
			return
		}
		if resp.Rejected == nil {
			resp.Rejected = []shared.Rejection{}
		}
		if ok != nil {
			resp.Accepted = ok
		}
		set, err = h.subscribe(r.Context(), req.ClientID, ok, false)
	}
	switch {
	case errors.Is(err, ErrUnknownClient):
		h.refuse(w, http.StatusNotFound, shared.CodeUnknownClient, "no such client")
		return
	case errors.Is(err, ErrTooManyChannels):
		h.refuse(w, http.StatusUnprocessableEntity, shared.CodeTooManyChannels, err.Error())
		return
	case errors.Is(err, ErrClosed):
		h.refuse(w, http.StatusServiceUnavailable, shared.CodeHubClosed, "the server is shutting down")
		return
	case errors.Is(err, ErrUnavailable):
		w.Header().Set("Retry-After", strconv.Itoa(int(max(h.cfg.Retry/time.Second, 1))))
		h.refuse(w, http.StatusServiceUnavailable, shared.CodeUnavailable, "the session cannot be changed now; retry")
		return
	case err != nil:
		h.refuse(w, http.StatusInternalServerError, shared.CodeInternal, "cannot apply the request")
		return
	}
	resp.Channels = set
	writeJSON(w, http.StatusOK, resp)
}
