package ssevent

import (
	"context"
	"time"
)

// ClusterBroker is a Broker shared by several hubs, usually in several
// processes, that act as one hub: a client's stream may be held by any of
// them, and any of them may publish to it, change its channels, resume its
// session, or count it. A Hub whose Config.Broker implements ClusterBroker
// starts it with StartCluster instead of Start, keeps the sessions' state
// in it, and routes the changes to a session it does not hold through it.
// Without one (the in-memory default), none of this applies.
//
// What the cluster keeps of a session is its SessionRecord: the channel set
// and how far its last stream got. The hub holding the session's stream
// applies changes made elsewhere when it receives them as Commands, which
// travel with the messages, in ID order: a change made before a message is
// published is in force when that message is delivered, on every hub.
//
// The methods must be safe for concurrent use. Those taking a context may
// block on the network; the hub never calls them with its lock held.
type ClusterBroker interface {
	Broker
	// StartCluster attaches the hub, as Start does, and also: calls
	// hooks.Apply for every Command sent through any hub sharing the
	// broker, on deliver's goroutine, in ID order with the messages
	// (CommandAttach is not applied on the hub that sent it); polls
	// hooks.Presence to tell the other hubs which streams this hub holds;
	// and calls hooks.Resync when messages were lost on their way to this
	// hub (the hub then ends its streams, so that their clients reconnect
	// and replay from the shared history).
	StartCluster(opts BrokerOptions, deliver func(Message), hooks ClusterHooks) error

	// SaveSession stores a session's record. ttl > 0 makes it expire that
	// long from now unless saved again; ttl == 0 keeps it for as long as
	// the session is in this hub's presence (plus the presence expiry).
	// Once another hub has taken the session over (AttachSession), a save
	// from this one changes nothing: it comes too late.
	SaveSession(ctx context.Context, id string, rec SessionRecord, ttl time.Duration) error
	// LoadSession returns a session's record; ok is false when no hub
	// holds or remembers the session.
	LoadSession(ctx context.Context, id string) (rec SessionRecord, ok bool, err error)
	// UpdateSession adds channels to, or removes them from, a session's
	// set at once, and sends the matching Command. It returns the set
	// afterwards, ErrUnknownClient when the session is not known, or
	// ErrTooManyChannels (wrapped) when the set would exceed maxChannels.
	// Nothing changes on error.
	UpdateSession(ctx context.Context, id string, op CommandOp, channels []string, maxChannels int) ([]string, error)
	// EndSession forgets a session (its record and private history) and
	// sends CommandEnd, so the hub holding it ends its stream. It returns
	// ErrUnknownClient when the session is not known.
	EndSession(ctx context.Context, id string) error
	// ClearSessions forgets every session and sends CommandClear.
	ClearSessions(ctx context.Context) error
	// AttachSession sends CommandAttach: the session's stream is now
	// held by this hub, so any other hub holding it lets it go.
	AttachSession(ctx context.Context, id string) error

	// ClientCount returns the number of streams the live hubs hold, as
	// their presence last told.
	ClientCount(ctx context.Context) (int, error)
	// ClientsByChannel returns the ids of the clients with a stream on a
	// live hub that are subscribed to channel, sorted.
	ClientsByChannel(ctx context.Context, channel string) ([]string, error)
}

// ClusterHooks are the hub's callbacks for a ClusterBroker.
type ClusterHooks struct {
	// Apply applies a Command to the sessions this hub holds. It does not
	// block on the network.
	Apply func(Command)
	// Presence returns the sessions with a stream on this hub, in no
	// particular order, each with its channels sorted. While they do not
	// change it returns the same slice as before, which a broker may take
	// as "nothing changed" (same length and first element) to skip
	// comparing it; the slice and the channel lists are the hub's: a
	// broker must not modify them.
	Presence func() []SessionPresence
	// Resync ends every stream of this hub, so that clients reconnect
	// and replay what the hub could not deliver.
	Resync func()
}

// SessionRecord is what a cluster keeps of a client session.
type SessionRecord struct {
	// Channels is the session's channel set, sorted.
	Channels []string
	// Cursor is the id of the last event written to the session's last
	// stream: a resumption without Last-Event-ID replays from there.
	Cursor uint64
	// Owner is the identity the session is bound to (Config.Identify),
	// and KeyHash the SHA-256 of its key for anonymous sessions: a hub
	// resuming or changing the session checks the request against them.
	Owner   string
	KeyHash []byte
}

// SessionPresence is one stream a hub holds, as told to the cluster.
type SessionPresence struct {
	ID       string
	Channels []string
}

// CommandOp names a Command.
type CommandOp uint8

// Command operations.
const (
	// CommandSubscribe adds Command.Channels to the client's set.
	CommandSubscribe CommandOp = iota + 1
	// CommandUnsubscribe removes Command.Channels from the client's set.
	CommandUnsubscribe
	// CommandEnd ends the client's stream and forgets its session.
	CommandEnd
	// CommandClear ends every stream and forgets every session.
	// Command.Client is empty.
	CommandClear
	// CommandAttach tells the other hubs that the client's stream moved:
	// a hub holding it ends its stream and lets the session go, without
	// forgetting it in the cluster.
	CommandAttach
)

// Command is a change to a session, applied by the hub that holds it.
type Command struct {
	Op       CommandOp
	Client   string
	Channels []string
}
