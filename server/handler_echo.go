package server

// This file is the only one that knows Echo: the hub's HTTP core works on
// net/http types, and the hooks see the echo.Context so that applications
// can read what their Echo middleware stored.

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
	"github.com/labstack/echo/v4"

	"github.com/ssevent/ssevent/shared"
)

// Handler is the hub's echo.HandlerFunc: mount it for GET and POST on one
// route, e.Any("/events", hub.Handler). GET opens an event stream, POST
// subscribes and unsubscribes, other methods get 405. Refusals are JSON
// {"error", "message"} bodies written here; Handler returns nil for them,
// so Echo's error handler does not rewrite them.
func (h *Hub) Handler(c echo.Context) error {
	switch c.Request().Method {
	case http.MethodGet:
		return h.handleGet(c)
	case http.MethodPost:
		return h.handlePost(c)
	default:
		c.Response().Header().Set("Allow", "GET, POST")
		return refuse(c, http.StatusMethodNotAllowed, shared.CodeMethodNotAllowed, "use GET to open a stream or POST to subscribe")
	}
}

// refuse writes an error body.
func refuse(c echo.Context, status int, code, msg string) error {
	return c.JSON(status, shared.ErrorResponse{Error: code, Message: msg})
}

func (h *Hub) isClosed() bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.closed
}

func (h *Hub) handleGet(c echo.Context) error {
	r := c.Request()
	if !h.originAllowed(r) {
		return refuse(c, http.StatusForbidden, shared.CodeOriginRefused, "origin not allowed")
	}
	if r.ContentLength != 0 {
		// A client that sends a body with its stream request would
		// keep sending while the stream runs.
		return refuse(c, http.StatusBadRequest, shared.CodeBadRequest, "a stream request has no body")
	}
	q := r.URL.Query()
	channels, err := shared.ParseChannels(q.Get(shared.QueryChannels))
	if err != nil {
		return refuse(c, http.StatusUnprocessableEntity, shared.CodeInvalidChannel, err.Error())
	}
	if n := len(channels) + boolInt(!h.cfg.DisableDefaultChannel); n > h.cfg.MaxChannelsPerClient {
		return refuse(c, http.StatusUnprocessableEntity, shared.CodeTooManyChannels,
			fmt.Sprintf("%d channels asked, limit %d", n, h.cfg.MaxChannelsPerClient))
	}
	lastID := r.Header.Get(shared.HeaderLastEventID)
	if lastID == "" {
		lastID = q.Get(shared.QueryLastEventID)
	}
	lastEventID, err := shared.ParseEventID(lastID)
	if err != nil {
		return refuse(c, http.StatusBadRequest, shared.CodeBadRequest, "malformed Last-Event-ID")
	}
	resumeID := q.Get(shared.QueryClientID)
	if resumeID != "" && !validClientID(resumeID) {
		return refuse(c, http.StatusBadRequest, shared.CodeBadRequest, "malformed clientId")
	}
	ident, err := h.identify(c)
	if err != nil {
		return h.refuseHook(c, "Identify", err)
	}
	if h.cfg.OnConnect != nil {
		if err := callHook(func() error { return h.cfg.OnConnect(c) }); err != nil {
			return h.refuseHook(c, "OnConnect", err)
		}
	}
	if !canFlush(c.Response().Writer) {
		h.log.Error(errNoFlush.Error())
		return refuse(c, http.StatusInternalServerError, shared.CodeStreamingBroken, errNoFlush.Error())
	}
	if h.isClosed() {
		return refuse(c, http.StatusServiceUnavailable, shared.CodeHubClosed, "the server is shutting down")
	}

	var (
		rejected []shared.Rejection
		st       *stream
		resumed  bool
		set      []string
	)
	asked, placed := h.place(r.Context(), lastEventID)
	srv, _ := r.Context().Value(http.ServerContextKey).(*http.Server)
	req := openRequest{after: asked, unplaced: !placed, lastID: lastID, srv: srv, owner: ident}
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
		switch {
		case errors.Is(lerr, errNotOwner):
			return refuse(c, http.StatusForbidden, shared.CodeForbidden, "the session belongs to another client")
		case lerr != nil:
			c.Response().Header().Set("Retry-After", strconv.Itoa(int(max(h.cfg.Retry/time.Second, 1))))
			return refuse(c, http.StatusServiceUnavailable, shared.CodeUnavailable, "the session cannot be loaded now; retry")
		case ok:
			_, rejected, err = h.approve(c, resumeID, slices.DeleteFunc(held, func(ch string) bool { return ch == shared.DefaultChannel }))
			if err != nil {
				return h.refuseHook(c, "OnSubscribe", err)
			}
			for _, rj := range rejected {
				req.drop = append(req.drop, rj.Channel)
			}
		}
		req.resumeID = resumeID
		st, resumed, set, after, err = h.openCluster(r.Context(), req)
	}
	if resumeID == "" || errors.Is(err, errNoResume) {
		// Not a resumption: approve the asked channels, then open.
		var approved []string
		// The id is made now so that OnSubscribe sees the client it
		// decides for.
		newID := uuid.NewString()
		approved, rejected, err = h.approve(c, newID, channels)
		if err != nil {
			return h.refuseHook(c, "OnSubscribe", err)
		}
		req.resumeID, req.newID, req.channels, req.drop, req.key = "", newID, approved, nil, ""
		if h.cfg.Identify == nil {
			req.key = newSessionKey()
		}
		st, resumed, set, after, err = h.open(req)
	}
	switch {
	case errors.Is(err, ErrClosed):
		return refuse(c, http.StatusServiceUnavailable, shared.CodeHubClosed, "the server is shutting down")
	case errors.Is(err, ErrUnavailable):
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(max(h.cfg.Retry/time.Second, 1))))
		return refuse(c, http.StatusServiceUnavailable, shared.CodeUnavailable, "the session cannot be loaded now; retry")
	case errors.Is(err, ErrTooManyConnections):
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(max(h.cfg.Retry/time.Second, 1))))
		return refuse(c, http.StatusServiceUnavailable, shared.CodeTooManyClients,
			fmt.Sprintf("the server holds its maximum of %d streams", h.cfg.MaxTotalConnections))
	case err != nil:
		return refuse(c, http.StatusInternalServerError, shared.CodeInternal, "cannot open the stream")
	}
	detached := false // a detached stream ends itself (detach.go)
	defer func() {
		if !detached {
			h.closeStream(st)
		}
	}()
	h.clusterOpened(r.Context(), st, resumed, set)

	hb := int64(0)
	if h.cfg.HeartbeatInterval > 0 {
		hb = h.cfg.HeartbeatInterval.Milliseconds()
	}
	if req.key != "" {
		h.setKeyCookie(c.Response(), r, st.sess.id, req.key)
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

	if after > 0 {
		h.replays.Add(1)
		go h.replay(st, after, lastID)
	}
	h.watchServer(srv, r)
	detached = st.serve(r.Context(), r, c.Response(), first)
	return nil
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
func (h *Hub) approve(c echo.Context, clientID string, channels []string) (ok []string, rejected []shared.Rejection, err error) {
	if h.cfg.OnSubscribe == nil {
		return channels, nil, nil
	}
	for _, ch := range channels {
		herr := callHook(func() error { return h.cfg.OnSubscribe(clientID, ch, c) })
		if herr == nil {
			ok = append(ok, ch)
			continue
		}
		var he *echo.HTTPError
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
func (h *Hub) refuseHook(c echo.Context, hook string, err error) error {
	var he *echo.HTTPError
	if errors.As(err, &he) && he.Code >= 400 && he.Code < 500 {
		code := shared.CodeForbidden
		if he.Code == http.StatusUnauthorized {
			code = shared.CodeUnauthorized
		}
		return refuse(c, he.Code, code, httpErrorText(he))
	}
	h.log.Error("ssevent: hook failed", "hook", hook, "err", err)
	return refuse(c, http.StatusInternalServerError, shared.CodeInternal, hook+" failed")
}

func httpErrorText(he *echo.HTTPError) string {
	if s, ok := he.Message.(string); ok && s != "" {
		return s
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

func (h *Hub) handlePost(c echo.Context) error {
	r := c.Request()
	if !h.originAllowed(r) {
		return refuse(c, http.StatusForbidden, shared.CodeOriginRefused, "origin not allowed")
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return refuse(c, http.StatusUnsupportedMediaType, shared.CodeUnsupportedMedia, "send Content-Type: application/json")
	}
	limit := int64(h.cfg.MaxPayloadSize)
	if r.ContentLength > limit {
		return refuse(c, http.StatusRequestEntityTooLarge, shared.CodePayloadTooLarge,
			fmt.Sprintf("body over %d bytes", limit))
	}
	var req shared.SubscribeRequest
	dec := json.NewDecoder(http.MaxBytesReader(c.Response(), r.Body, limit))
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
			return refuse(c, http.StatusRequestEntityTooLarge, shared.CodePayloadTooLarge,
				fmt.Sprintf("body over %d bytes", limit))
		}
		return refuse(c, http.StatusBadRequest, shared.CodeInvalidJSON, bodyErrorText(err))
	}
	if req.Action != shared.ActionSubscribe && req.Action != shared.ActionUnsubscribe {
		return refuse(c, http.StatusBadRequest, shared.CodeBadRequest, `action must be "subscribe" or "unsubscribe"`)
	}
	if !validClientID(req.ClientID) {
		return refuse(c, http.StatusBadRequest, shared.CodeBadRequest, "missing or malformed clientId")
	}
	if len(req.Channels) == 0 {
		return refuse(c, http.StatusBadRequest, shared.CodeBadRequest, "channels is empty")
	}
	if len(req.Channels) > h.cfg.MaxChannelsPerClient {
		return refuse(c, http.StatusUnprocessableEntity, shared.CodeTooManyChannels,
			fmt.Sprintf("%d channels asked, limit %d", len(req.Channels), h.cfg.MaxChannelsPerClient))
	}
	for _, ch := range req.Channels {
		if err := shared.ValidChannel(ch); err != nil {
			return refuse(c, http.StatusUnprocessableEntity, shared.CodeInvalidChannel, err.Error())
		}
	}
	if h.isClosed() {
		return refuse(c, http.StatusServiceUnavailable, shared.CodeHubClosed, "the server is shutting down")
	}
	ident, err := h.identify(c)
	if err != nil {
		return h.refuseHook(c, "Identify", err)
	}
	switch _, ok, err := h.sessionFor(r.Context(), req.ClientID, ident, presentedKey(r, req.ClientID)); {
	case errors.Is(err, errNotOwner):
		return refuse(c, http.StatusForbidden, shared.CodeForbidden, "the session belongs to another client")
	case err != nil:
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(max(h.cfg.Retry/time.Second, 1))))
		return refuse(c, http.StatusServiceUnavailable, shared.CodeUnavailable, "the session cannot be checked now; retry")
	case !ok:
		return refuse(c, http.StatusNotFound, shared.CodeUnknownClient, "no such client")
	}

	resp := shared.SubscribeResponse{ClientID: req.ClientID, Action: req.Action, Accepted: []string{}, Rejected: []shared.Rejection{}}
	var set []string
	if req.Action == shared.ActionUnsubscribe {
		set, err = h.unsubscribe(req.ClientID, req.Channels, false)
		resp.Accepted = req.Channels
	} else {
		var ok []string
		ok, resp.Rejected, err = h.approve(c, req.ClientID, req.Channels)
		if err != nil {
			return h.refuseHook(c, "OnSubscribe", err)
		}
		if resp.Rejected == nil {
			resp.Rejected = []shared.Rejection{}
		}
		if ok != nil {
			resp.Accepted = ok
		}
		set, err = h.subscribe(req.ClientID, ok, false)
	}
	switch {
	case errors.Is(err, ErrUnknownClient):
		return refuse(c, http.StatusNotFound, shared.CodeUnknownClient, "no such client")
	case errors.Is(err, ErrTooManyChannels):
		return refuse(c, http.StatusUnprocessableEntity, shared.CodeTooManyChannels, err.Error())
	case errors.Is(err, ErrClosed):
		return refuse(c, http.StatusServiceUnavailable, shared.CodeHubClosed, "the server is shutting down")
	case errors.Is(err, ErrUnavailable):
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(max(h.cfg.Retry/time.Second, 1))))
		return refuse(c, http.StatusServiceUnavailable, shared.CodeUnavailable, "the session cannot be changed now; retry")
	case err != nil:
		return refuse(c, http.StatusInternalServerError, shared.CodeInternal, "cannot apply the request")
	}
	resp.Channels = set
	return c.JSON(http.StatusOK, resp)
}
