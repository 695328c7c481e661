package echov5_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/ssevent/ssevent"
	"github.com/ssevent/ssevent/echov5"
	"github.com/ssevent/ssevent/internal/hubtest"
	"github.com/ssevent/ssevent/internal/leakcheck"
)

// TestMain fails the package when goroutines outlive the tests.
func TestMain(m *testing.M) { os.Exit(leakcheck.Run(m)) }

// echoMount serves the hub through the adapter: echov5.New with the
// suite's config, hooks that take the *echo.Context and refuse with Echo's
// errors, its Handler on an Echo app, and echo.StartConfig's server.
var echoMount = hubtest.Mount{
	Name:    "echo v5",
	Adapter: true,
	New: func(cfg ssevent.Config, must bool) (*ssevent.Hub, http.Handler, error) {
		var hub *echov5.Hub
		if must {
			hub = echov5.New(adapterConfig(cfg))
		} else {
			var err error
			if hub, err = echov5.NewHub(adapterConfig(cfg)); err != nil {
				return nil, nil, err
			}
		}
		e := echo.New()
		e.Any("/events", hub.Handler)
		return hub.Core(), e, nil
	},
	Servers: []hubtest.Server{{Name: "StartConfig", Serve: serveEcho}},
}

// TestHub runs the hub's test-suite (internal/hubtest) through the
// adapter.
func TestHub(t *testing.T) { hubtest.Run(t, echoMount) }

// adapterConfig is cfg as an echov5.Config: the same fields
// (TestConfigMirrorsCore checks that there are the same), and hooks that
// take the *echo.Context, call cfg's with its request, and turn their
// *ssevent.HTTPError into Echo's errors, which the adapter turns back.
func adapterConfig(cfg ssevent.Config) echov5.Config {
	var out echov5.Config
	src, dst := reflect.ValueOf(cfg), reflect.ValueOf(&out).Elem()
	for i := range src.NumField() {
		if f := dst.FieldByName(src.Type().Field(i).Name); f.IsValid() && f.Type() == src.Field(i).Type() {
			f.Set(src.Field(i))
		}
	}
	if cfg.OnConnect != nil {
		out.OnConnect = func(c *echo.Context) error { return echoError(cfg.OnConnect(c.Request())) }
	}
	if cfg.Identify != nil {
		out.Identify = func(c *echo.Context) (string, error) {
			id, err := cfg.Identify(c.Request())
			return id, echoError(err)
		}
	}
	if cfg.OnSubscribe != nil {
		out.OnSubscribe = func(clientID, channel string, c *echo.Context) error {
			return echoError(cfg.OnSubscribe(clientID, channel, c.Request()))
		}
	}
	return out
}

// echoError turns an *ssevent.HTTPError in err into the error an Echo v5
// application returns (echo.ErrUnauthorized and echo.ErrForbidden when it
// has no message, an *echo.HTTPError otherwise), wrapped as err wrapped
// it.
func echoError(err error) error {
	var he *ssevent.HTTPError
	if !errors.As(err, &he) {
		return err
	}
	var ee error = echo.NewHTTPError(he.Code, he.Message)
	switch {
	case he.Message == "" && he.Code == http.StatusUnauthorized:
		ee = echo.ErrUnauthorized
	case he.Message == "" && he.Code == http.StatusForbidden:
		ee = echo.ErrForbidden
	}
	if err == error(he) {
		return ee
	}
	return fmt.Errorf("%v: %w", err, ee)
}

// serveEcho runs app, an *echo.Echo, with echo.StartConfig on l; its
// Shutdown cancels Start's context, as an application's signal would, and
// waits for Start's graceful shutdown to return.
func serveEcho(app http.Handler, l net.Listener) *hubtest.Running {
	ctx, cancel := context.WithCancel(context.Background())
	servers := make(chan *http.Server, 1)
	served := make(chan error, 1)
	done := make(chan struct{})
	sc := echo.StartConfig{
		Listener:        l,
		HideBanner:      true,
		HidePort:        true,
		GracefulTimeout: 10 * time.Second,
		BeforeServeFunc: func(s *http.Server) error {
			s.ReadHeaderTimeout = 10 * time.Second
			servers <- s
			return nil
		},
	}
	go func() {
		err := sc.Start(ctx, app)
		cancel()
		served <- err
		close(done)
	}()
	return &hubtest.Running{
		Server: <-servers,
		Served: served,
		Shutdown: func(wait context.Context) error {
			cancel()
			select {
			case <-done:
				return nil
			case <-wait.Done():
				return wait.Err()
			}
		},
	}
}

// TestConfigMirrorsCore: echov5.Config has every field of ssevent.Config,
// of the same type but for the hooks, which take the *echo.Context.
func TestConfigMirrorsCore(t *testing.T) {
	core, adapter := reflect.TypeFor[ssevent.Config](), reflect.TypeFor[echov5.Config]()
	hooks := map[string]bool{"OnConnect": true, "Identify": true, "OnSubscribe": true}
	for i := range core.NumField() {
		cf := core.Field(i)
		af, ok := adapter.FieldByName(cf.Name)
		switch {
		case !ok:
			t.Errorf("echov5.Config has no %s", cf.Name)
		case hooks[cf.Name]:
			if af.Type.Kind() != reflect.Func || af.Type.NumIn() != cf.Type.NumIn() {
				t.Errorf("echov5.Config.%s is %v, for ssevent's %v", cf.Name, af.Type, cf.Type)
			}
		case af.Type != cf.Type:
			t.Errorf("echov5.Config.%s is %v, ssevent.Config's %v", cf.Name, af.Type, cf.Type)
		}
	}
	if n, m := adapter.NumField(), core.NumField(); n != m {
		t.Errorf("echov5.Config has %d fields, ssevent.Config %d", n, m)
	}
	if err := (echov5.Config{MaxPayloadSize: -1}).Validate(); !errors.Is(err, echov5.ErrInvalidConfig) {
		t.Errorf("Validate of a negative MaxPayloadSize: %v", err)
	}
}
