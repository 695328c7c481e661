//go:build !(js && wasm)

package main

import "errors"

// fetchJSON runs in a browser only; the server build prerenders the page
// and never fetches.
func fetchJSON(method, url string, body []byte) (int, []byte, error) {
	return 0, nil, errors.New("fetch needs a browser")
}
