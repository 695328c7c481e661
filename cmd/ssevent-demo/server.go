//go:build !wasm

package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/ssevent/ssevent/redisbroker"
	"github.com/ssevent/ssevent/server"
	"github.com/ssevent/ssevent/shared"
	"github.com/ssevent/ssevent/static"
)

// The demo's own files, served under /web/ beside the app's wasm.
//
//go:embed web/demo.css web/plain.html web/plain.js web/icon.png web/icon.svg
var assets embed.FS

// Limits of the demo's endpoints.
const (
	maxBodyBytes      = 8 << 10 // one request body
	maxTextRunes      = 500     // one message's text
	maxFromRunes      = 32      // the sender label
	maxListedChannels = 40      // channels listed in the stats
)

// Channels the demo lists in its stats from the start. The server feeds
// clockChannel by itself.
var builtinChannels = []string{clockChannel, "news", "chat"}

var pagesOnce sync.Once

// config is what the command line sets.
type config struct {
	// RedisURL, when set, puts the hub on Redis: every demo started with
	// the same URL serves the same hub.
	RedisURL string
	// WasmPath is the go-app program built for the browser.
	WasmPath string
	// ClockInterval is the period of the clock channel. Defaults to 1s.
	ClockInterval time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Broker overrides RedisURL (tests).
	Broker server.Broker
	// HTMXDir is a node_modules directory holding htmx.org and
	// htmx-ext-sse, served to the htmx page under /hx/; without them
	// there, the page says it cannot work and how to install them.
	HTMXDir string
	// DatastarDir is a directory holding Datastar's v1 client,
	// datastar.js (bundles/ of the Go module
	// github.com/starfederation/datastar@v1.0.2), served to the Datastar
	// page at /ds/datastar.js; without it, the page says it cannot work
	// and how to get it.
	DatastarDir string
}

// demo is the demo application: a hub, its endpoints and the two pages.
type demo struct {
	cfg      config
	log      *slog.Logger
	hub      *server.Hub
	echo     *echo.Echo
	started  time.Time
	instance string // host:port, set by serve
	wasm     []byte // nil when WasmPath could not be read
	wasmGz   func() []byte
	version  string
}

func newDemo(cfg config) (*demo, error) {
	if cfg.ClockInterval <= 0 {
		cfg.ClockInterval = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	d := &demo{cfg: cfg, log: cfg.Logger, started: time.Now()}

	b := cfg.Broker
	if b == nil && cfg.RedisURL != "" {
		rb, err := redisbroker.FromURL(cfg.RedisURL, redisbroker.Options{Logger: cfg.Logger})
		if err != nil {
			return nil, err
		}
		b = rb
	}
	hub, err := server.NewHub(server.Config{
		Broker: b,
		Logger: cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	d.hub = hub

	h := sha256.New()
	if cfg.WasmPath != "" {
		if d.wasm, err = os.ReadFile(cfg.WasmPath); err != nil {
			d.wasm = nil
			d.log.Warn("the go-app page needs its wasm: build it with `make demo-wasm`; the plain page works without it",
				"path", cfg.WasmPath, "err", err)
		}
	}
	h.Write(d.wasm)
	d.wasmGz = sync.OnceValue(func() []byte {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed)
		zw.Write(d.wasm)
		zw.Close()
		return b.Bytes()
	})
	_ = fs.WalkDir(assets, "web", func(path string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			b, _ := assets.ReadFile(path)
			h.Write(b)
		}
		return nil
	})
	d.version = hex.EncodeToString(h.Sum(nil))[:16]

	pagesOnce.Do(registerPages)
	d.echo = d.routes()
	return d, nil
}

func (d *demo) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = jsonErrorHandler

	e.Any("/events", d.hub.Handler)
	e.GET("/ssevent/*", echo.WrapHandler(http.StripPrefix("/ssevent/", static.Handler())))
	e.GET("/web/*", d.serveWeb)
	e.GET("/plain.html", d.servePlain)
	d.hypermediaRoutes(e)

	api := e.Group("/api")
	api.POST("/publish", d.publish)
	api.POST("/private", d.private)
	api.POST("/broadcast", d.broadcast)
	api.GET("/stats", d.stats)
	api.Any("/*", func(c echo.Context) error {
		switch c.Request().URL.Path {
		case "/api/publish", "/api/private", "/api/broadcast":
			c.Response().Header().Set("Allow", http.MethodPost)
			return fail(http.StatusMethodNotAllowed, shared.CodeMethodNotAllowed, "Use POST.")
		case "/api/stats":
			c.Response().Header().Set("Allow", http.MethodGet)
			return fail(http.StatusMethodNotAllowed, shared.CodeMethodNotAllowed, "Use GET.")
		}
		return fail(http.StatusNotFound, "not_found", "No such endpoint.")
	})

	// Everything else is the go-app progressive web app: its page, its
	// scripts, manifest and service worker.
	e.GET("/*", echo.WrapHandler(&app.Handler{
		Name:              "ssevent demo",
		ShortName:         "ssevent",
		Title:             "ssevent demo (go-app)",
		Description:       "Server-Sent Events for Echo, with a Go/WASM client: a live demo.",
		Lang:              "en",
		Icon:              app.Icon{Default: "/web/icon.png", Large: "/web/icon.png", SVG: "/web/icon.svg"},
		Styles:            []string{"/web/demo.css"},
		BackgroundColor:   "#f6f7f9",
		ThemeColor:        "#1f6feb",
		LoadingLabel:      "Loading the Go/WASM app… {progress}%",
		Version:           d.version,
		WasmContentLength: strconv.Itoa(len(d.wasm)),
		Resources:         webResolver{},
	}))
	return e
}

// webResolver leaves /web/ paths as they are: the demo serves them itself.
type webResolver struct{}

func (webResolver) Resolve(location string) string { return location }

// serveWeb serves the app's wasm and the embedded files, revalidated with
// the build's version as ETag.
func (d *demo) serveWeb(c echo.Context) error {
	name := strings.TrimPrefix(c.Request().URL.Path, "/web/")
	var body []byte
	if name == "app.wasm" {
		if d.wasm == nil {
			return echo.NewHTTPError(http.StatusNotFound, "app.wasm is not built: run make demo-wasm")
		}
		body = d.wasm
		c.Response().Header().Add("Vary", "Accept-Encoding")
		if acceptsGzip(c.Request()) {
			c.Response().Header().Set("Content-Encoding", "gzip")
			body = d.wasmGz()
		}
	} else {
		b, err := assets.ReadFile("web/" + name)
		if err != nil || name == "plain.html" {
			return echo.ErrNotFound
		}
		body = b
	}
	return d.serveBytes(c, name, body)
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

func (d *demo) serveBytes(c echo.Context, name string, body []byte) error {
	w := c.Response()
	ctype := mime.TypeByExtension(name[strings.LastIndexByte(name, '.'):])
	if strings.HasSuffix(name, ".wasm") {
		ctype = "application/wasm"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "no-cache")
	etag := d.version
	if w.Header().Get("Content-Encoding") == "gzip" {
		etag += "-gz"
	}
	w.Header().Set("ETag", `"`+etag+`"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, c.Request(), name, d.started, bytes.NewReader(body))
	return nil
}

// plainCSP lets the plain page run its own script, the client's wasm and
// the client's shared worker, and nothing else: no inline script, no eval,
// no other origin.
const plainCSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; style-src 'self'; " +
	"img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

func (d *demo) servePlain(c echo.Context) error {
	b, _ := assets.ReadFile("web/plain.html")
	c.Response().Header().Set("Content-Security-Policy", plainCSP)
	return d.serveBytes(c, "plain.html", b)
}

// apiError is a refused request: the status and the protocol's
// {"error", "message"} body.
type apiError struct {
	status int
	body   shared.ErrorResponse
}

func (e *apiError) Error() string { return e.body.Message }

func fail(status int, code, msg string) error {
	return &apiError{status, shared.ErrorResponse{Error: code, Message: msg}}
}

// jsonErrorHandler answers every error with {"error", "message"}, as the
// hub does.
func jsonErrorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = &apiError{http.StatusInternalServerError, shared.ErrorResponse{Error: shared.CodeInternal, Message: "internal error"}}
		var he *echo.HTTPError
		if errors.As(err, &he) {
			ae.status = he.Code
			ae.body.Message = fmt.Sprint(he.Message)
			switch he.Code {
			case http.StatusNotFound:
				ae.body.Error = "not_found"
			case http.StatusMethodNotAllowed:
				ae.body.Error = shared.CodeMethodNotAllowed
			default:
				ae.body.Error = shared.CodeBadRequest
				if he.Code >= 500 {
					ae.body.Error = shared.CodeInternal
				}
			}
		}
	}
	_ = c.JSON(ae.status, ae.body)
}

// decode reads a JSON request body and checks its text.
func decode(c echo.Context) (request, error) {
	var req request
	r := c.Request()
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return req, fail(http.StatusUnsupportedMediaType, shared.CodeUnsupportedMedia, "Send the form as application/json.")
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), r.Body, maxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return req, fail(http.StatusRequestEntityTooLarge, shared.CodePayloadTooLarge,
				fmt.Sprintf("The request is over %d KiB.", maxBodyBytes>>10))
		}
		return req, fail(http.StatusBadRequest, shared.CodeBadRequest, "The request body could not be read.")
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return req, fail(http.StatusBadRequest, shared.CodeInvalidJSON, "The request is not a JSON object of strings.")
	}
	req.Text = strings.TrimSpace(req.Text)
	req.From = strings.TrimSpace(req.From)
	switch {
	case req.Text == "":
		return req, fail(http.StatusBadRequest, shared.CodeBadRequest, "The message is empty: type some text.")
	case !utf8.ValidString(req.Text):
		return req, fail(http.StatusBadRequest, shared.CodeBadRequest, "The message is not valid UTF-8.")
	case utf8.RuneCountInString(req.Text) > maxTextRunes:
		return req, fail(http.StatusRequestEntityTooLarge, shared.CodePayloadTooLarge,
			fmt.Sprintf("The message is too long: %d characters, at most %d.", utf8.RuneCountInString(req.Text), maxTextRunes))
	case utf8.RuneCountInString(req.From) > maxFromRunes || !utf8.ValidString(req.From):
		return req, fail(http.StatusBadRequest, shared.CodeBadRequest,
			fmt.Sprintf("The sender name is over %d characters.", maxFromRunes))
	}
	return req, nil
}

func (req request) message() message {
	return message{Text: req.Text, From: req.From, Time: time.Now().UTC().Format(time.RFC3339Nano)}
}

// hubError turns an error of a Hub method into a refusal.
func hubError(err error) error {
	switch {
	case errors.Is(err, server.ErrUnknownClient):
		return fail(http.StatusNotFound, shared.CodeUnknownClient, "No connected client has that id.")
	case errors.Is(err, server.ErrInvalidChannel):
		return fail(http.StatusBadRequest, shared.CodeInvalidChannel, channelHint)
	case errors.Is(err, server.ErrPayloadTooLarge):
		return fail(http.StatusRequestEntityTooLarge, shared.CodePayloadTooLarge, "The message is too large.")
	case errors.Is(err, server.ErrClosed):
		return fail(http.StatusServiceUnavailable, shared.CodeHubClosed, "The server is shutting down.")
	default:
		return fail(http.StatusServiceUnavailable, shared.CodeInternal, "Could not publish: "+err.Error())
	}
}

func (d *demo) publish(c echo.Context) error {
	req, err := decode(c)
	if err != nil {
		return err
	}
	if req.Channel = strings.TrimSpace(req.Channel); shared.ValidChannel(req.Channel) != nil {
		return fail(http.StatusBadRequest, shared.CodeInvalidChannel, channelHint)
	}
	msg := req.message()
	if err := d.hub.Send(req.Channel, msg); err != nil {
		return hubError(err)
	}
	if err := d.publishHTML(req.Channel, msg); err != nil {
		d.log.Warn("publishing to the pages", "err", err)
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "sent", "channel": req.Channel})
}

func (d *demo) private(c echo.Context) error {
	req, err := decode(c)
	if err != nil {
		return err
	}
	if req.ClientID == "" {
		return fail(http.StatusBadRequest, shared.CodeBadRequest, "No client id: wait until the page is connected.")
	}
	if err := d.hub.SendTo(req.ClientID, req.message(), privateEvent); err != nil {
		return hubError(err)
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "sent"})
}

func (d *demo) broadcast(c echo.Context) error {
	req, err := decode(c)
	if err != nil {
		return err
	}
	if err := d.hub.Broadcast(req.message(), broadcastEvent); err != nil {
		return hubError(err)
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "sent"})
}

func (d *demo) stats(c echo.Context) error {
	return c.JSON(http.StatusOK, d.snapshot())
}

// snapshot counts the clients, and the subscribers of the built-in
// channels and of the other channels that have some (the cluster's, with
// Redis), at most maxListedChannels of them.
func (d *demo) snapshot() stats {
	s := stats{Clients: d.hub.ClientCount(), Instance: d.instance, Uptime: time.Since(d.started).Round(time.Second).String()}
	listed := d.hub.Channels("", maxListedChannels)
	subscribers := make(map[string]int, len(listed))
	for _, c := range listed {
		subscribers[c.Name] = c.Subscribers
	}
	for _, ch := range builtinChannels {
		s.Channels = append(s.Channels, channelStats{Name: ch, Subscribers: subscribers[ch]})
	}
	for _, c := range listed {
		if !slices.Contains(builtinChannels, c.Name) {
			s.Channels = append(s.Channels, channelStats{Name: c.Name, Subscribers: c.Subscribers})
		}
	}
	return s
}

// clock feeds clockChannel until ctx is done.
func (d *demo) clock(ctx context.Context) {
	t := time.NewTicker(d.cfg.ClockInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			err := d.hub.Send(clockChannel, tick{
				Time:       now.UTC().Format(time.RFC3339),
				Instance:   d.instance,
				Uptime:     time.Since(d.started).Round(time.Second).String(),
				Goroutines: runtime.NumGoroutine(),
			})
			if errors.Is(err, server.ErrClosed) {
				return
			}
			if err != nil {
				d.log.Warn("clock", "err", err)
			}
		}
	}
}

// The http.Server limits docs/SECURITY.md recommends. No WriteTimeout: it
// would end every stream.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
	shutdownTimeout   = 10 * time.Second
)

// serve runs the demo on l until ctx is done, then shuts down gracefully:
// the hub ends its streams (clients reconnect to the next server) and the
// server waits for requests in flight.
func (d *demo) serve(ctx context.Context, l net.Listener) error {
	d.instance = l.Addr().String()
	srv := &http.Server{
		Handler:           d.echo,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(d.log.Handler(), slog.LevelWarn),
	}
	hubClosed := make(chan struct{})
	srv.RegisterOnShutdown(func() {
		defer close(hubClosed)
		cctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout/2)
		defer cancel()
		if err := d.hub.Close(cctx); err != nil && !errors.Is(err, server.ErrClosed) {
			d.log.Warn("closing the hub", "err", err)
		}
	})
	clockCtx, stopClock := context.WithCancel(ctx)
	defer stopClock()
	go d.clock(clockCtx)
	go d.pageClock(clockCtx.Done())

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		_ = d.hub.Close(context.Background())
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	select {
	case <-hubClosed:
	case <-sctx.Done():
	}
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}
