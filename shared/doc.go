// Package shared is the ssevent wire protocol: the event-stream encoder and
// decoder, the JSON envelope and request/response types, the event and
// channel names, and their validation.
//
// Both the server (package server) and the browser client (package
// wasmclient, compiled with GOOS=js GOARCH=wasm) import this package, so the
// two cannot drift apart. It depends on the standard library only, and not on
// encoding/json or fmt, which keeps the WebAssembly client small: the JSON
// types carry struct tags for encoding/json on the server, and RawMessage
// implements json.Marshaler and json.Unmarshaler by method signature alone.
//
// docs/PROTOCOL.md describes the same contract in prose.
//
// # Concurrency
//
// Every function here is safe for concurrent use. A Decoder is not: one
// goroutine reads one stream.
package shared
