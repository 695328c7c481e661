//go:build !unix

package main

import (
	"context"
	"errors"
	"net/http"
)

// ceiling needs non-blocking writes to a socket: Unix only.
type ceiling struct{}

func newCeiling() (*ceiling, error) {
	return nil, errors.New("-impl ceiling runs on Unix only")
}

func (*ceiling) handle(http.ResponseWriter, *http.Request) {}
func (*ceiling) send(string, []byte) error                 { return nil }
func (*ceiling) streams() int                              { return 0 }
func (*ceiling) disconnects() map[string]uint64            { return nil }
func (*ceiling) close(context.Context)                     {}
