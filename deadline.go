package ssevent

import (
	"net/http"
	"reflect"
	"time"
	"unsafe"
)

// deadlineController returns a ResponseController that sets write deadlines
// on the connection under w. It follows Unwrap methods, as
// http.ResponseController does, and also looks through middleware writers
// that hide the writer they wrap (a struct field, no Unwrap method): without
// this, such middleware would silently switch write deadlines off, and a
// client that stops reading would hold its stream, Hub.Close and
// http.Server.Shutdown until the kernel gives up. Writes and flushes still
// go through w, so the middleware sees every byte.
func deadlineController(w http.ResponseWriter) *http.ResponseController {
	inner := w
	for range 16 { // a chain of wrappers deeper than this is not worth following
		switch t := inner.(type) {
		case interface{ SetWriteDeadline(time.Time) error }:
			return http.NewResponseController(inner)
		case interface{ Unwrap() http.ResponseWriter }:
			inner = t.Unwrap()
		default:
			inner = wrappedWriter(inner)
		}
		if inner == nil {
			break
		}
	}
	return http.NewResponseController(w)
}

var responseWriterType = reflect.TypeFor[http.ResponseWriter]()

// wrappedWriter returns the http.ResponseWriter that w, a struct or a
// pointer to one, holds in a field, exported or not; nil if none.
func wrappedWriter(w http.ResponseWriter) http.ResponseWriter {
	v := reflect.ValueOf(w)
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil
	}
	if !v.CanAddr() {
		c := reflect.New(v.Type()).Elem()
		c.Set(v)
		v = c
	}
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.Interface, reflect.Pointer:
		default:
			continue
		}
		if f.IsNil() || !f.Type().Implements(responseWriterType) && f.Kind() != reflect.Interface {
			continue
		}
		// Reading an unexported field needs its address; the value is
		// only used to reach the connection's deadline.
		x := reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Interface()
		if rw, ok := x.(http.ResponseWriter); ok && rw != nil {
			return rw
		}
	}
	return nil
}

// typeName names w's type for a log record.
func typeName(w http.ResponseWriter) string { return reflect.TypeOf(w).String() }
