package ssevent

import "context"

// sessions is where a hub's sessions live beyond its own memory. With a
// plain Broker they live nowhere else (localSessions); with a ClusterBroker
// its shared store records them, and a change to a session that another
// hub holds travels to it as a Command (clusterSessions, hub_cluster.go).
// The hub takes one path for both: they differ only here.
type sessions interface {
	// update subscribes (CommandSubscribe) or unsubscribes
	// (CommandUnsubscribe) the session's channels, or ends the session
	// (CommandUnsubscribe with no channels), and returns its channel
	// set. notify tells the client of its new set.
	update(ctx context.Context, op CommandOp, id string, channels []string, notify bool) ([]string, error)
	// load returns the record of a session this hub does not hold.
	load(ctx context.Context, id string) (SessionRecord, bool, error)
	// opened records that st's session is held here now.
	opened(ctx context.Context, st *stream, resumed bool, set []string)
	// closed records a session whose stream ended; forgotten tells
	// whether this hub let it go.
	closed(st *stream, forgotten bool)
	// clear ends every session.
	clear(ctx context.Context)
	// count is the number of open streams; byChannel lists the clients
	// with an open stream subscribed to channel, sorted.
	count(ctx context.Context) int
	byChannel(ctx context.Context, channel string) []string
	// channels lists, sorted, up to limit channels sorting after after,
	// with their subscribers that have an open stream.
	channels(ctx context.Context, after string, limit int) []ChannelInfo
	// shared reports whether other hubs deliver the same messages (one
	// may run ahead of this one); ownsHistory whether this hub drops the
	// private history of the sessions it forgets.
	shared() bool
	ownsHistory() bool
}

// localSessions are the sessions of a hub alone: its memory is the record.
type localSessions struct{ h *Hub }

func (l localSessions) update(_ context.Context, op CommandOp, id string, channels []string, notify bool) ([]string, error) {
	if op == CommandSubscribe {
		return l.h.subscribeLocal(id, channels, notify)
	}
	return l.h.unsubscribeLocal(id, channels, notify)
}

func (localSessions) load(context.Context, string) (SessionRecord, bool, error) {
	return SessionRecord{}, false, nil
}

func (localSessions) opened(context.Context, *stream, bool, []string) {}
func (localSessions) closed(*stream, bool)                            {}
func (l localSessions) clear(context.Context)                         { l.h.clearLocal() }
func (l localSessions) count(context.Context) int                     { return l.h.countLocal() }
func (l localSessions) byChannel(_ context.Context, ch string) []string {
	return l.h.byChannelLocal(ch)
}
func (l localSessions) channels(_ context.Context, after string, limit int) []ChannelInfo {
	return l.h.channelsLocal(after, limit)
}
func (localSessions) shared() bool      { return false }
func (localSessions) ownsHistory() bool { return true }
