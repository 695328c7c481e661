//go:build js && wasm

package wasmclient

// LiveFuncs returns how many js.Funcs the client holds.
func LiveFuncs() int64 { return liveFuncs.Load() }
