package echov5

import "github.com/ssevent/ssevent"

// The broker seam, shared with the core: see package ssevent.
type (
	// Broker is ssevent.Broker: how a hub's messages are ordered, shared
	// and remembered.
	Broker = ssevent.Broker
	// BrokerOptions is ssevent.BrokerOptions.
	BrokerOptions = ssevent.BrokerOptions
	// Positioner is ssevent.Positioner.
	Positioner = ssevent.Positioner
	// Epocher is ssevent.Epocher.
	Epocher = ssevent.Epocher
	// ClusterBroker is ssevent.ClusterBroker: a broker shared by several
	// hubs that also holds their sessions.
	ClusterBroker = ssevent.ClusterBroker
	// ClusterHooks is ssevent.ClusterHooks.
	ClusterHooks = ssevent.ClusterHooks
	// SessionRecord is ssevent.SessionRecord.
	SessionRecord = ssevent.SessionRecord
	// SessionPresence is ssevent.SessionPresence.
	SessionPresence = ssevent.SessionPresence
	// Command is ssevent.Command.
	Command = ssevent.Command
	// CommandOp is ssevent.CommandOp.
	CommandOp = ssevent.CommandOp
	// Message is ssevent.Message: one published event.
	Message = ssevent.Message
	// Topic is ssevent.Topic: a destination, and the unit of history.
	Topic = ssevent.Topic
	// TopicKind is ssevent.TopicKind.
	TopicKind = ssevent.TopicKind
	// ChannelLister is ssevent.ChannelLister.
	ChannelLister = ssevent.ChannelLister
)

// What the hub tells operators: see package ssevent.
type (
	// Stats is ssevent.Stats: a snapshot of a hub's state and counters.
	Stats = ssevent.Stats
	// ChannelInfo is ssevent.ChannelInfo: a channel and its subscribers.
	ChannelInfo = ssevent.ChannelInfo
	// DisconnectReason is ssevent.DisconnectReason: why a stream ended.
	DisconnectReason = ssevent.DisconnectReason
)

// Why a stream ends: see ssevent.DisconnectReason.
const (
	DisconnectClientGone   = ssevent.DisconnectClientGone
	DisconnectTimeout      = ssevent.DisconnectTimeout
	DisconnectSlowConsumer = ssevent.DisconnectSlowConsumer
	DisconnectWriteFailed  = ssevent.DisconnectWriteFailed
	DisconnectStale        = ssevent.DisconnectStale
	DisconnectResumed      = ssevent.DisconnectResumed
	DisconnectUnsubscribed = ssevent.DisconnectUnsubscribed
	DisconnectHubClosed    = ssevent.DisconnectHubClosed
	DisconnectShutdown     = ssevent.DisconnectShutdown
	DisconnectClientSent   = ssevent.DisconnectClientSent
	DisconnectResync       = ssevent.DisconnectResync
)

// MaxChannelsListed bounds one page of Hub.Channels.
const MaxChannelsListed = ssevent.MaxChannelsListed

// Topic kinds and cluster commands: see package ssevent.
const (
	TopicChannel = ssevent.TopicChannel
	TopicClient  = ssevent.TopicClient
	TopicAll     = ssevent.TopicAll

	CommandSubscribe   = ssevent.CommandSubscribe
	CommandUnsubscribe = ssevent.CommandUnsubscribe
	CommandEnd         = ssevent.CommandEnd
	CommandClear       = ssevent.CommandClear
	CommandAttach      = ssevent.CommandAttach
)

// Defaults applied to zero Config fields: see package ssevent.
const (
	DefaultTimeout              = ssevent.DefaultTimeout
	DefaultHeartbeatInterval    = ssevent.DefaultHeartbeatInterval
	DefaultMaxPayloadSize       = ssevent.DefaultMaxPayloadSize
	DefaultMaxChannelsPerClient = ssevent.DefaultMaxChannelsPerClient
	DefaultMaxTotalConnections  = ssevent.DefaultMaxTotalConnections
	DefaultRetry                = ssevent.DefaultRetry
	DefaultHistorySize          = ssevent.DefaultHistorySize
	DefaultHistoryTTL           = ssevent.DefaultHistoryTTL
	DefaultHistoryMaxBytes      = ssevent.DefaultHistoryMaxBytes
	DefaultResumeWindow         = ssevent.DefaultResumeWindow
	DefaultQueueSize            = ssevent.DefaultQueueSize
	DefaultQueueMaxBytes        = ssevent.DefaultQueueMaxBytes
	DefaultReconnectJitter      = ssevent.DefaultReconnectJitter
	DefaultWriteTimeout         = ssevent.DefaultWriteTimeout
)

// Errors returned by the Hub: the core's, so errors.Is works with either
// package's names.
var (
	ErrClosed             = ssevent.ErrClosed
	ErrUnknownClient      = ssevent.ErrUnknownClient
	ErrPayloadTooLarge    = ssevent.ErrPayloadTooLarge
	ErrTooManyChannels    = ssevent.ErrTooManyChannels
	ErrInvalidChannel     = ssevent.ErrInvalidChannel
	ErrInvalidEvent       = ssevent.ErrInvalidEvent
	ErrTooManyConnections = ssevent.ErrTooManyConnections
	ErrUnavailable        = ssevent.ErrUnavailable
	ErrInvalidConfig      = ssevent.ErrInvalidConfig
)
