package main

// Names and JSON shapes shared by the server and the go-app frontend.

// clockChannel is the channel the server feeds by itself.
const clockChannel = "clock"

// Event names of SendTo and Broadcast from the demo's forms.
const (
	privateEvent   = "private"
	broadcastEvent = "broadcast"
)

// tick is the payload of clockChannel.
type tick struct {
	Time       string `json:"time"`
	Instance   string `json:"instance"`
	Uptime     string `json:"uptime"`
	Goroutines int    `json:"goroutines"`
}

// stats is the answer of GET /api/stats.
type stats struct {
	Clients  int            `json:"clients"`
	Channels []channelStats `json:"channels"`
	Instance string         `json:"instance"`
	Uptime   string         `json:"uptime"`
}

type channelStats struct {
	Name        string `json:"name"`
	Subscribers int    `json:"subscribers"`
}

// message is the payload of every message the demo publishes from a form.
type message struct {
	Text string `json:"text"`
	From string `json:"from,omitempty"`
	Time string `json:"time"`
}

// request is the body of the publishing endpoints: POST /api/publish
// (channel, text), /api/private (clientId, text) and /api/broadcast (text);
// from optionally names the sender.
type request struct {
	Channel  string `json:"channel,omitempty"`
	ClientID string `json:"clientId,omitempty"`
	Text     string `json:"text"`
	From     string `json:"from,omitempty"`
}

const channelHint = "Invalid channel name: 1 to 128 characters, no comma, no control character."
