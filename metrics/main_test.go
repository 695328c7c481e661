package metrics_test

import (
	"os"
	"testing"

	"github.com/ssevent/ssevent/internal/leakcheck"
)

func TestMain(m *testing.M) { os.Exit(leakcheck.Run(m)) }
