package ssevent

import (
	"context"
	"time"
)

// TopicKind says who a Message is for.
type TopicKind uint8

// Topic kinds.
const (
	// TopicChannel: the subscribers of the channel named by Topic.Name.
	TopicChannel TopicKind = iota + 1
	// TopicClient: the one client whose id is Topic.Name.
	TopicClient
	// TopicAll: every client. Topic.Name is empty.
	TopicAll
)

// Topic is a destination, and the unit of history.
type Topic struct {
	Kind TopicKind
	Name string
}

// Message is one published event as it travels through a Broker.
type Message struct {
	// ID is assigned by the broker's Publish: it grows with every message
	// across every hub sharing the broker.
	ID uint64
	// Topic is the destination.
	Topic Topic
	// Event is the event name; empty means "message", whose data is the
	// {"channel", "payload"} envelope.
	Event string
	// Data is the payload as JSON.
	Data []byte
	// Kind says what Data holds (an HTML fragment, a Datastar patch), for
	// the dialects that render it otherwise than as JSON. The zero value,
	// KindJSON, is any payload. A broker carries it with the message.
	Kind MessageKind

	// frame is the wire form, kept by the in-memory broker so that live
	// and replayed deliveries share one encoding.
	frame *frame
}

// BrokerOptions are the hub's settings a broker applies.
type BrokerOptions struct {
	// HistorySize is the number of messages kept per topic; 0 keeps none.
	HistorySize int
	// HistoryTTL is how long a message is kept.
	HistoryTTL time.Duration
	// HistoryMaxBytes bounds the Data bytes kept across all topics.
	HistoryMaxBytes int64
	// ResumeWindow is how long a session outlives its stream; a
	// ClusterBroker keeps session records that long.
	ResumeWindow time.Duration
}

// Broker is the seam between a Hub and the way its messages are ordered,
// shared and remembered. The default is in memory; a broker backed by a
// shared store lets several hubs in several processes act as one.
//
// A Broker is used by one Hub. Its methods must be safe for concurrent use.
type Broker interface {
	// Start attaches the hub. From then on the broker calls deliver for
	// every message published through any hub that shares it, this one
	// included, once each, in ID order, one call at a time.
	Start(opts BrokerOptions, deliver func(Message)) error
	// Publish assigns msg the next ID, records it in its topic's history,
	// and hands it to every attached hub. It returns the ID.
	Publish(ctx context.Context, msg Message) (uint64, error)
	// History returns, in ID order, the held messages of the topics with
	// an ID above after: the first limit of them when limit > 0, all of
	// them otherwise. gap is true when some messages of those topics with
	// an ID above after are no longer held, or when after is not an ID
	// this broker could have given.
	History(ctx context.Context, topics []Topic, after uint64, limit int) (msgs []Message, gap bool, err error)
	// Forget drops a topic's history (a client session that ended).
	Forget(ctx context.Context, t Topic) error
	// Close detaches the hub and releases the broker's resources.
	Close() error
}

// Positioner is implemented by brokers that can tell the ID of the last
// message published so far. The hub asks once, at start, so that a session
// opened before anything was delivered still knows from where to replay
// when it resumes without a Last-Event-ID. A broker that does not
// implement it is assumed to start at 0.
type Positioner interface {
	Position() uint64
}

// Epocher is implemented by brokers whose ids can start over: an in-memory
// broker started again, a shared store that lost its data. Epoch names the
// current sequence of ids (1 to shared.MaxEpochLen lowercase letters and
// digits), and changes whenever the sequence starts over, so that the hub
// can tell an id of the current sequence from one of another. It returns
// "" while the broker cannot tell (its store is unreachable); the hub then
// places no client's id. A broker that does not implement it has one
// sequence forever.
type Epocher interface {
	Epoch() string
}
