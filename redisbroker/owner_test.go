package redisbroker_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent/redisbroker"
	"github.com/ssevent/ssevent/server"
)

// A hub that lost a session's stream to another hub may save the session's
// record late, when its own stream ends. That save must not overwrite what
// the new owner changed since.
func TestLateSaveDoesNotOverwriteNewOwner(t *testing.T) {
	url, prefix := redisURL(t), testPrefix(t)
	open := func() *redisbroker.Broker {
		b, err := redisbroker.FromURL(url, redisbroker.Options{Prefix: prefix})
		require.NoError(t, err)
		t.Cleanup(func() { _ = b.Close() })
		return b
	}
	a, b := open(), open()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	id := uuid.NewString()

	require.NoError(t, a.SaveSession(ctx, id, server.SessionRecord{Channels: []string{"default"}}, 0))
	// The client resumes on b, which takes the session over, and then
	// subscribes to news there.
	require.NoError(t, b.AttachSession(ctx, id))
	set, err := b.UpdateSession(ctx, id, server.CommandSubscribe, []string{"news"}, 20)
	require.NoError(t, err)
	require.Equal(t, []string{"default", "news"}, set)

	// a's old stream ends now, and a saves what it knew.
	require.NoError(t, a.SaveSession(ctx, id, server.SessionRecord{Channels: []string{"default"}, Cursor: 5}, time.Minute))
	rec, ok, err := b.LoadSession(ctx, id)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, []string{"default", "news"}, rec.Channels, "the late save did not win")

	// The owner's own saves still go through.
	require.NoError(t, b.SaveSession(ctx, id, server.SessionRecord{Channels: []string{"default", "news"}, Cursor: 9}, time.Minute))
	rec, _, err = a.LoadSession(ctx, id)
	require.NoError(t, err)
	assert.EqualValues(t, 9, rec.Cursor)
}

// The identity a session is bound to, and its key's hash (binary), come
// back as they were saved, so that another hub checks a resumption or a
// POST against them.
func TestSessionRecordKeepsOwnerAndKey(t *testing.T) {
	b, err := redisbroker.FromURL(redisURL(t), redisbroker.Options{Prefix: testPrefix(t)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	hash := []byte{0, 1, 2, 0xff, '\n', 0}
	for _, rec := range []server.SessionRecord{
		{Channels: []string{"default"}, Owner: "alice"},
		{Channels: []string{"default", "news"}, Cursor: 7, KeyHash: hash},
	} {
		id := uuid.NewString()
		require.NoError(t, b.SaveSession(ctx, id, rec, time.Minute))
		got, ok, err := b.LoadSession(ctx, id)
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, rec, got)
	}
}
