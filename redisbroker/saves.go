package redisbroker

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// maxSaveBatch bounds how many session saves one pipeline carries.
const maxSaveBatch = 500

// save is one SaveSession waiting for the pipeline that carries it.
type save struct {
	ctx  context.Context // the caller's, bounded by Options.Timeout
	key  string
	args []any
	done chan error // buffered: the sender never waits for the caller
}

// queueSave hands s to the pipeline sender and returns once s is stored,
// refused, or s.ctx ended. A save that finds the sender idle starts it at
// once (no timer: an idle broker adds no delay); saves that arrive while
// a pipeline is in flight go out together in the next. After Close, s is
// sent on its own.
func (b *Broker) queueSave(s *save) error {
	b.saveMu.Lock()
	if b.savesClosed { // no sender may outlive Close
		b.saveMu.Unlock()
		return unavailable(saveScript.Run(s.ctx, b.rdb, []string{s.key}, s.args...).Err())
	}
	b.saveQueue = append(b.saveQueue, s)
	if !b.saving {
		b.saving = true
		b.saver.Add(1)
		go b.sendSaves()
	}
	b.saveMu.Unlock()
	select {
	case err := <-s.done:
		return err
	case <-s.ctx.Done():
		return unavailable(s.ctx.Err())
	}
}

// sendSaves sends the queued saves, up to maxSaveBatch in one pipeline at
// a time, until none is left. It ends within Options.Timeout of the last
// save queued: every save carries a deadline, and one whose context ended
// before its turn is not sent.
func (b *Broker) sendSaves() {
	defer b.saver.Done()
	for {
		b.saveMu.Lock()
		var batch []*save
		for len(batch) < maxSaveBatch && len(b.saveQueue) > 0 {
			s := b.saveQueue[0]
			b.saveQueue[0] = nil
			b.saveQueue = b.saveQueue[1:]
			if s.ctx.Err() == nil { // its caller is gone: not sent
				batch = append(batch, s)
			}
		}
		if len(batch) == 0 {
			b.saving = false
			b.saveQueue = nil
			b.saveMu.Unlock()
			return
		}
		b.saveMu.Unlock()
		b.sendBatch(batch)
	}
}

// sendBatch runs the save script once per save in one pipeline, bounded by
// the latest deadline of the saves; each caller gets its own result. A
// Redis that does not hold the script yet (NOSCRIPT: restarted, flushed)
// gets the saves that failed so again with the script's text, which also
// loads it.
func (b *Broker) sendBatch(batch []*save) {
	var deadline time.Time
	for _, s := range batch {
		if d, ok := s.ctx.Deadline(); ok && d.After(deadline) {
			deadline = d
		}
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	cmds := b.pipeSaves(ctx, batch, false)
	var again []*save
	for i, s := range batch {
		err := cmds[i].Err()
		if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
			again = append(again, s)
			continue
		}
		s.done <- unavailable(err)
	}
	if len(again) > 0 {
		cmds = b.pipeSaves(ctx, again, true)
		for i, s := range again {
			s.done <- unavailable(cmds[i].Err())
		}
	}
}

// pipeSaves sends one pipeline of save scripts, by hash or, with text,
// by the script's text, and returns their commands.
func (b *Broker) pipeSaves(ctx context.Context, batch []*save, text bool) []*redis.Cmd {
	cmds := make([]*redis.Cmd, len(batch))
	pipe := b.rdb.Pipeline()
	for i, s := range batch {
		keys := []string{s.key}
		if text {
			cmds[i] = saveScript.Eval(ctx, pipe, keys, s.args...)
		} else {
			cmds[i] = saveScript.EvalSha(ctx, pipe, keys, s.args...)
		}
	}
	_, _ = pipe.Exec(ctx) // each command holds its own error
	return cmds
}
