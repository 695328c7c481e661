package goapp

// SetFrame replaces how a frame is waited for, until restore is called.
func SetFrame(f func(stop <-chan struct{}) bool) (restore func()) {
	old := frame
	frame = f
	return func() { frame = old }
}
