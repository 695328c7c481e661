//go:build !(js && wasm)

package goapp

// waitFrame does not wait outside a browser, which runs no frames; false
// when stop is closed.
func waitFrame(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return false
	default:
		return true
	}
}
