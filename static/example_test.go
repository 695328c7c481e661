package static_test

import (
	"html/template"
	"net/http"
	"os"

	"github.com/ssevent/ssevent/static"
)

// A page rendered by html/template loads the shim by its content-hashed
// name: a warm visit makes no request for the client's files, and a new
// release changes the name.
func ExampleScriptTag() {
	mux := http.NewServeMux()
	mux.Handle("/ssevent/", http.StripPrefix("/ssevent/", static.Handler()))

	page := template.Must(template.New("page").Parse(`<!doctype html>
<head>{{.Client}}</head>
<body><script src="/app.js"></script></body>`))
	page.Execute(os.Stdout, map[string]any{
		"Client": template.HTML(static.ScriptTag("/ssevent")), // <script src="/ssevent/ssevent.<hash>.js"></script>
	})
}

// Name gives the hashed name of one file, e.g. for a preload hint or a
// service worker's list.
func ExampleName() {
	wasmURL := "/ssevent/" + static.Name("ssevent.wasm") // served with Cache-Control: public, max-age=31536000, immutable
	_ = wasmURL
}
