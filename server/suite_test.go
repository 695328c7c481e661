package server_test

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"reflect"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/ssevent/ssevent"
	"github.com/ssevent/ssevent/internal/hubtest"
	"github.com/ssevent/ssevent/internal/leakcheck"
	"github.com/ssevent/ssevent/server"
)

// TestMain fails the package when goroutines outlive the tests.
func TestMain(m *testing.M) { os.Exit(leakcheck.Run(m)) }

// echoMount serves the hub through the adapter: server.New with the
// suite's config, hooks that take the echo.Context and refuse with
// *echo.HTTPError, its Handler on an Echo app, and Echo's own server.
var echoMount = hubtest.Mount{
	Name:    "echo v4",
	Adapter: true,
	New: func(cfg ssevent.Config, must bool) (*ssevent.Hub, http.Handler, error) {
		var hub *server.Hub
		if must {
			hub = server.New(adapterConfig(cfg))
		} else {
			var err error
			if hub, err = server.NewHub(adapterConfig(cfg)); err != nil {
				return nil, nil, err
			}
		}
		e := echo.New()
		e.HideBanner, e.HidePort = true, true
		e.Any("/events", hub.Handler)
		return hub.Core(), e, nil
	},
	Servers: []hubtest.Server{{Name: "Echo", Serve: serveEcho}},
}

// TestHub runs the hub's test-suite (internal/hubtest) through the
// adapter.
func TestHub(t *testing.T) { hubtest.Run(t, echoMount) }

// adapterConfig is cfg as a server.Config: the same fields
// (TestConfigMirrorsCore checks that there are the same), and hooks that
// take the echo.Context, call cfg's with its request, and turn their
// *ssevent.HTTPError into an *echo.HTTPError, which the adapter turns back.
func adapterConfig(cfg ssevent.Config) server.Config {
	var out server.Config
	src, dst := reflect.ValueOf(cfg), reflect.ValueOf(&out).Elem()
	for i := range src.NumField() {
		if f := dst.FieldByName(src.Type().Field(i).Name); f.IsValid() && f.Type() == src.Field(i).Type() {
			f.Set(src.Field(i))
		}
	}
	if cfg.OnConnect != nil {
		out.OnConnect = func(c echo.Context) error { return echoError(cfg.OnConnect(c.Request())) }
	}
	if cfg.Identify != nil {
		out.Identify = func(c echo.Context) (string, error) {
			id, err := cfg.Identify(c.Request())
			return id, echoError(err)
		}
	}
	if cfg.OnSubscribe != nil {
		out.OnSubscribe = func(clientID, channel string, c echo.Context) error {
			return echoError(cfg.OnSubscribe(clientID, channel, c.Request()))
		}
	}
	return out
}

// echoError turns an *ssevent.HTTPError in err into the *echo.HTTPError an
// Echo application returns, wrapped as err wrapped it.
func echoError(err error) error {
	var he *ssevent.HTTPError
	if !errors.As(err, &he) {
		return err
	}
	ee := echo.NewHTTPError(he.Code)
	if he.Message != "" {
		ee = echo.NewHTTPError(he.Code, he.Message)
	}
	if err == error(he) {
		return ee
	}
	return fmt.Errorf("%v: %w", err, ee)
}

// serveEcho runs app, an *echo.Echo, with Echo's Start on l.
func serveEcho(app http.Handler, l net.Listener) *hubtest.Running {
	e := app.(*echo.Echo)
	e.Listener = l
	served := make(chan error, 1)
	go func() { served <- e.Start("") }()
	return &hubtest.Running{Server: e.Server, Served: served, Shutdown: e.Shutdown, Close: e.Close}
}

// TestConfigMirrorsCore: server.Config has every field of ssevent.Config,
// of the same type but for the hooks, which take the echo.Context.
func TestConfigMirrorsCore(t *testing.T) {
	core, adapter := reflect.TypeFor[ssevent.Config](), reflect.TypeFor[server.Config]()
	hooks := map[string]bool{"OnConnect": true, "Identify": true, "OnSubscribe": true}
	for i := range core.NumField() {
		cf := core.Field(i)
		af, ok := adapter.FieldByName(cf.Name)
		switch {
		case !ok:
			t.Errorf("server.Config has no %s", cf.Name)
		case hooks[cf.Name]:
			if af.Type.Kind() != reflect.Func || af.Type.NumIn() != cf.Type.NumIn() {
				t.Errorf("server.Config.%s is %v, for ssevent's %v", cf.Name, af.Type, cf.Type)
			}
		case af.Type != cf.Type:
			t.Errorf("server.Config.%s is %v, ssevent.Config's %v", cf.Name, af.Type, cf.Type)
		}
	}
	if n, m := adapter.NumField(), core.NumField(); n != m {
		t.Errorf("server.Config has %d fields, ssevent.Config %d", n, m)
	}
	if err := (server.Config{MaxPayloadSize: -1}).Validate(); !errors.Is(err, server.ErrInvalidConfig) {
		t.Errorf("Validate of a negative MaxPayloadSize: %v", err)
	}
}
