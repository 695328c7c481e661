package ssevent

// SetDialect makes the streams speak format (htmx2, htmx4, datastar).
func (bs *BenchStreams) SetDialect(format string) {
	d := map[string]dialect{FormatJSON: dialectJSON, FormatHTMX2: dialectHTMX2, FormatHTMX4: dialectHTMX4, FormatDatastar: dialectDatastar}[format]
	for _, st := range bs.streams {
		st.mu.Lock()
		st.dialect = d
		st.mu.Unlock()
	}
}

// Last returns the last frame queued on stream i, as an identity to
// compare with others, and its bytes.
func (bs *BenchStreams) Last(i int) (frame any, b []byte) {
	st := bs.streams[i]
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.queue) == 0 {
		return nil, nil
	}
	f := st.queue[len(st.queue)-1]
	return f, f.b
}
