package static_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestTypeScript type-checks ssevent.d.ts with tsc --strict --noEmit on
// typed uses of it (testdata/ts: example.ts, and dom.ts for the names the
// typings must not take from the DOM). Their @ts-expect-error lines prove
// that the checks bite: tsc fails when a marked line type-checks.
// TypeScript is a pinned devDependency of testdata/ts, installed with npm
// ci from its lock file when missing.
func TestTypeScript(t *testing.T) {
	if testing.Short() {
		t.Skip("needs npm")
	}
	dir := filepath.Join("testdata", "ts")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tsc := filepath.Join(dir, "node_modules", "typescript", "bin", "tsc")
	if _, err := os.Stat(tsc); err != nil {
		npm, err := exec.LookPath("npm")
		if err != nil {
			t.Fatal("npm not found: install Node.js (Debian: apt-get install nodejs npm)")
		}
		cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci: %v\n%s", err, out)
		}
	}
	cmd := exec.CommandContext(ctx, "node", filepath.Join("node_modules", "typescript", "bin", "tsc"), "--strict", "--noEmit", "-p", ".")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tsc --strict --noEmit: %v\n%s", err, out)
	}
}

// The shim and the module parse as JavaScript (the browser tests run
// them).
func TestJavaScriptSyntax(t *testing.T) {
	for _, f := range []string{"ssevent.js", "ssevent-worker.js", "ssevent.mjs"} {
		if out, err := exec.Command("node", "--check", f).CombinedOutput(); err != nil {
			t.Errorf("node --check %s: %v\n%s", f, err, out)
		}
	}
}
