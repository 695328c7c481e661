// Package hubtest is the hub's test-suite, run through each way of mounting
// the hub: the core on net/http (package ssevent's tests), the Echo v4
// adapter (server's) and the Echo v5 adapter (echov5's). Like
// golang.org/x/net/nettest, it is an ordinary package of exported test
// functions, each taking the *testing.T and the Mount to test; Run runs
// them all. A package's suite_test.go is then:
//
//	func TestHub(t *testing.T) { hubtest.Run(t, mount) }
//
// The suite talks to the hub over real HTTP on 127.0.0.1 and through the
// core's methods (Mount.New returns the core underneath an adapter), so
// everything an adapter adds on the way (its handler, its hooks, its
// errors, its server) is exercised by every test that goes through a
// request.
//
// With SSEVENT_STANDARD_PATH=1 in the environment every hub the suite
// builds is on the standard stream path (Config.DisableTakeover); the
// tests that cover both paths then run the standard one only.
//
// The fuzz targets (FuzzPostBody, FuzzStreamQuery, FuzzResume,
// FuzzStreamRoundTrip) and the soak test (Soak) are exported too; the
// FuzzXxx and TestSoak functions that go test finds wrap them in package
// ssevent's tests, where their corpora live.
package hubtest

import (
	"context"
	"net"
	"net/http"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/ssevent/ssevent"
)

// Mount is one way of serving a hub.
type Mount struct {
	// Name names the mount: "net/http", "echo v4".
	Name string
	// Adapter is set for a framework adapter. The tests of the hub's
	// internals (memory bounds, storms, catch-up and fault injection),
	// which go through the adapter no differently from any other test,
	// are skipped on adapters and run on the core mount only.
	Adapter bool
	// New builds a hub from cfg as the mount's constructor does (for an
	// adapter: its Config, hooks that take the framework's context and
	// call cfg's, refusals turned into the framework's errors) and returns
	// the core hub and an http.Handler serving it on /events (for an
	// adapter, the framework's app). must selects the constructor that
	// panics on an invalid config (New) over the one that returns the
	// error (NewHub).
	New func(cfg ssevent.Config, must bool) (*ssevent.Hub, http.Handler, error)
	// Servers are the framework's own ways of running its app, if any
	// (Echo's Start). TestShutdownEndsStreams stops each of them as the
	// framework does, on top of stopping a plain http.Server.
	Servers []Server
}

// Server is a framework's own way of running the app of a Mount.
type Server struct {
	// Name names it, as in "Echo": the tests are "Echo.Shutdown" and
	// "Echo.Close".
	Name string
	// Serve serves app, as returned by Mount.New, on l, and returns at
	// once.
	Serve func(app http.Handler, l net.Listener) *Running
}

// Running is a server that Server.Serve started.
type Running struct {
	// Server is the http.Server serving the app.
	Server *http.Server
	// Served receives what serving returned, once it returns.
	Served <-chan error
	// Shutdown stops the server gracefully, as the framework does, and
	// returns once it has stopped.
	Shutdown func(ctx context.Context) error
	// Close stops the server at once, as the framework does; nil when the
	// framework has no such call.
	Close func() error
}

// test is a test of the suite.
type test struct {
	fn func(*testing.T, Mount)
	// core marks the tests of the hub's internals: on the core mount
	// only (Mount.Adapter).
	core bool
}

// tests are the tests Run runs. TestSuiteListsEveryTest checks that every
// exported TestXxx(*testing.T, Mount) of the package is here once.
var tests = []test{
	// config.go
	{fn: TestRetryIsSent},
	{fn: TestHistoryMaxBytes},
	{fn: TestLoggerGetsSlowConsumerReason},
	{fn: TestDefaults},
	// exhaustion.go
	{fn: TestExhaustionConnectionStorm, core: true},
	{fn: TestExhaustionSlowHeaders},
	{fn: TestExhaustionTrickledBody},
	{fn: TestExhaustionStreamOutlivesReadTimeout},
	{fn: TestExhaustionServerWriteTimeout},
	{fn: TestExhaustionSubscribeChurnMemory, core: true},
	// fault.go
	{fn: TestNothingLostUnderFaults, core: true},
	// get.go
	{fn: TestGetRefusals},
	{fn: TestOnSubscribeRejectsAtConnect},
	{fn: TestMaxTotalConnections},
	{fn: TestTrustOrigins},
	{fn: TestStreamingUnsupported},
	{fn: TestResumeUnknownIDStartsFresh},
	// hostile_*.go
	{fn: TestHostileGetWithBody},
	{fn: TestHostileTakeoverRaceHeadFirst},
	{fn: TestHostileBurstStalledReaders, core: true},
	{fn: TestHostileCatchUpBeyondQueue, core: true},
	{fn: TestHostileChatterAfterGet},
	{fn: TestHostileChatterThenClose},
	{fn: TestHostileUnplaceableLastEventID},
	{fn: TestHostileReplayHoldsNoCopies, core: true},
	{fn: TestHostileSteadyReaderOutlastsWriteTimeout},
	{fn: TestHostileWrappedWriterDeadlines},
	// hub.go
	{fn: TestConfigValidate},
	{fn: TestConnect},
	{fn: TestConnectWithChannels},
	{fn: TestSendReachesSubscribersOnly},
	{fn: TestSendTo},
	{fn: TestBroadcast},
	{fn: TestSendValidation},
	{fn: TestSubscribeAPI},
	{fn: TestUnsubscribeAllDisconnects},
	{fn: TestClearClients},
	{fn: TestClose},
	{fn: TestHeartbeat},
	{fn: TestTimeoutEndsStream},
	{fn: TestMethodNotAllowed},
	{fn: TestThousandClientsGetBroadcast},
	{fn: TestConcurrentUseIsSafe},
	{fn: TestHookSeesRequest},
	// owner.go
	{fn: TestOwnerAnonymousSessionNeedsItsKey},
	{fn: TestOwnerIdentifiedSession},
	{fn: TestOwnerPermissionsRecheckedOnResume},
	{fn: TestOwnerSessionEndAndChannelChanges},
	{fn: TestOwnerConfigValidation},
	// paths.go
	{fn: TestStreamPathsOrderAndClose},
	{fn: TestStreamPathsHeartbeatAndTimeout},
	{fn: TestStreamPathsClientGone},
	{fn: TestStreamPathsSlowConsumer},
	{fn: TestStreamPathsWriteDeadline},
	{fn: TestStreamPathsOutliveWriteTimeout},
	{fn: TestStreamPathsServerReadTimeout},
	{fn: TestStreamPathsHeadersAndWrappedWriter},
	{fn: TestStreamPathsStalledReaderCatchesUp, core: true},
	// post.go
	{fn: TestPostSubscribeAndUnsubscribe},
	{fn: TestPostRefusals},
	{fn: TestPostToWaitingSession},
	// replay.go
	{fn: TestReplayOnResume},
	{fn: TestReplayWithoutSession},
	{fn: TestReplayGapByCount},
	{fn: TestReplayForeignIDIsAGap},
	{fn: TestResumeWindowExpires},
	{fn: TestResumeRefusedByOnConnect},
	{fn: TestTakeoverEndsOldStream},
	{fn: TestSlowConsumerIsCut, core: true},
	{fn: TestCleanupSweepsStalledStream},
	{fn: TestWriteTimeoutCutsStuckClient},
	// security.go
	{fn: TestSecurityOriginChecks},
	{fn: TestSecurityForeignSessionPost},
	{fn: TestSecuritySendToReachesOnlyItsClient},
	{fn: TestSecurityUnknownClientID},
	{fn: TestSecurityNoInjection},
	{fn: TestSecurityOversizedBody},
	{fn: TestSecurityPanickingHooks},
	// shutdown.go
	{fn: TestShutdownEndsStreams},
}

// Run runs the suite on m, each test as a subtest named after its
// function without the Test prefix: go test -run 'TestHub/^Connect$'.
func Run(t *testing.T, m Mount) {
	for _, tc := range tests {
		t.Run(strings.TrimPrefix(funcName(tc.fn), "Test"), func(t *testing.T) {
			if tc.core && m.Adapter {
				t.Skip("a test of the hub's internals: run on the core mount")
			}
			tc.fn(t, m)
		})
	}
}

// funcName returns the name of the package-level function fn.
func funcName(fn any) string {
	name := runtime.FuncForPC(reflect.ValueOf(fn).Pointer()).Name()
	return name[strings.LastIndexByte(name, '.')+1:]
}

// standardPath reports whether every hub of this run is on the standard
// stream path: SSEVENT_STANDARD_PATH=1.
func standardPath() bool { return os.Getenv("SSEVENT_STANDARD_PATH") != "" }
