//go:build wasm

package main

import "github.com/maxence-charriere/go-app/v10/pkg/app"

// main is the browser's: it connects the app's one client, whose stream
// every page shares (see live in app.go), and runs the go-app components
// of app.go. The server's main (main.go) is left out of this build.
func main() {
	registerPages()
	live = connectLive()
	app.RunWhenOnBrowser()
}
