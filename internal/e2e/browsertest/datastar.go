package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// DatastarModule is the Datastar release whose built client the tests
// load: npm has only Datastar's betas, but the repository is a Go module
// whose tagged releases carry the client in bundles/datastar.js.
const DatastarModule = "github.com/starfederation/datastar@v1.0.2"

var datastarDirs sync.Map // module@version -> directory

// DatastarClient downloads module (DatastarModule, or another release of
// it) through the Go module proxy, or finds it in the module cache, and
// returns the directory holding its client, datastar.js. It fails t,
// saying how to get the module, when the download fails or the file is
// not the release asked for.
func DatastarClient(t testing.TB, module string) string {
	t.Helper()
	if dir, ok := datastarDirs.Load(module); ok {
		return dir.(string)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal("go not found on PATH: the Datastar client is fetched with go mod download")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "mod", "download", "-json", module)
	// Outside any module, so that no go.mod is looked at or changed.
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var mod struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &mod); err != nil || jerr != nil || mod.Dir == "" {
		t.Fatalf("go mod download %s: %v %s%s\n"+
			"the Datastar client comes from the Go module proxy: allow GOPROXY (default https://proxy.golang.org) to be reached once, "+
			"or fill the module cache with that command", module, err, mod.Error, stderr.String())
	}
	dir := filepath.Join(mod.Dir, "bundles")
	head, err := os.ReadFile(filepath.Join(dir, "datastar.js"))
	if err != nil {
		t.Fatal(err)
	}
	_, version, _ := strings.Cut(module, "@")
	if want := "// Datastar " + version; !bytes.HasPrefix(head, []byte(want)) {
		t.Fatalf("%s/datastar.js does not start with %q", dir, want)
	}
	datastarDirs.Store(module, dir)
	return dir
}
