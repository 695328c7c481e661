//go:build js && wasm

package goapp

import "syscall/js"

// frameFallback is how long a frame is waited for at most, in
// milliseconds: a hidden tab runs no animation frames, and its events
// should not pile up meanwhile.
const frameFallback = 100

// waitFrame waits for the next animation frame, or frameFallback ms,
// whichever comes first; false when stop closed first.
func waitFrame(stop <-chan struct{}) bool {
	g := js.Global()
	ch := make(chan struct{}, 2)
	cb := js.FuncOf(func(js.Value, []js.Value) any {
		ch <- struct{}{}
		return nil
	})
	defer cb.Release()
	raf := js.Undefined()
	if g.Get("requestAnimationFrame").Type() == js.TypeFunction {
		raf = g.Call("requestAnimationFrame", cb)
	}
	timer := g.Call("setTimeout", cb, frameFallback)
	select {
	case <-ch:
	case <-stop:
	}
	if !raf.IsUndefined() {
		g.Call("cancelAnimationFrame", raf)
	}
	g.Call("clearTimeout", timer)
	select {
	case <-stop:
		return false
	default:
		return true
	}
}
