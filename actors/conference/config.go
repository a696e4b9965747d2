package conference

import (
	"log/slog"
	"maps"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"focal/auth"
	"focal/media/sources"
	"focal/visitors"
	"focal/xmpp/caps"
	"focal/xmpp/session"
)

// Config of the conferences of one node.
type Config struct {
	// FocusJID is the bare JID the focus logs in as; clients learn it from
	// the 'focusjid' attribute of the answer.
	FocusJID string
	// Nick is the focus's nickname in every room. Prosody's Jitsi modules
	// release waiting participants only when an occupant named focus joins.
	Nick string
	// InitialTimeout ends a conference nobody joined within this time of its
	// creation, or of the focus re-joining after a reconnect.
	InitialTimeout time.Duration
	// SingleParticipantTimeout is how long a participant left alone keeps
	// its media session (Jicofo's single-participant-timeout); 0 keeps it.
	SingleParticipantTimeout time.Duration
	// EmptyTimeout is how long a conference whose last participant left
	// waits before it ends.
	EmptyTimeout time.Duration
	// JoinTimeout bounds the MUC join; past it, waiting requests get an error.
	JoinTimeout time.Duration
	// RequestTimeout bounds IQs the conference sends (e.g. granting owner).
	RequestTimeout time.Duration
	// StandbyWait is how long a conference request that reached a standby
	// waits for it to drive before it goes back to the directory, for the
	// owner (StandbyGaveUp). A standby is promoted once its owner is
	// gone, within about 3 s (the membership's failure timeout and the
	// promotion delay); an owner alive but out of this node's reach (a
	// partition between the two alone) never hands the conference over,
	// and the directory can relay the request through a member that
	// reaches it.
	StandbyWait time.Duration
	// AutoOwner grants owner to the first participant and elects another when
	// the owner leaves (Jicofo's enable-auto-owner); not in breakout rooms,
	// as Jicofo.
	AutoOwner bool
	// Auth authenticates requests (zero: nobody is, and anybody creates
	// rooms).
	Auth auth.Config
	// MUCDomain is the main rooms' MUC service: a room on another one (the
	// breakout rooms') is a breakout room. "" takes every room as a main
	// room.
	MUCDomain string

	// Visitors: the visitor nodes requests may be sent to (package
	// visitors), and the node's focus connection to each, by node id.
	Visitors   visitors.Config
	VNodeWires map[string]session.Wire

	// Version is the focus's version, published in its presence in every
	// room (<versions/>).
	Version string

	// Node is this node's name in the cluster ("" when not clustered): the
	// owner named in the replicated state.
	Node string

	// Bridges is the node's brewery actor; nil runs conferences without
	// media (no bridge is ever allocated).
	Bridges *actor.PID
	// MinParticipants is how many participants the room needs before
	// anybody is invited to a media session (Jicofo's min-participants).
	MinParticipants int
	// Sources bounds what each endpoint may signal.
	Sources sources.Validator
	// JSONSources signals sources as <json-message/> to clients that
	// support it.
	JSONSources bool
	// StripSimulcast tells receivers only the first layer of each
	// simulcast source (and its retransmission stream); the bridge still
	// gets every SSRC (Jicofo's strip-simulcast, on by default).
	StripSimulcast bool
	// ICERestart answers a client's in-place ICE restart request
	// (<bridge-session ice-restart='true'/> in session-info) with new ICE
	// credentials from the bridge in a transport-info (Jicofo's
	// enable-ice-restart, on by default); without it the request is
	// refused with feature-not-implemented.
	ICERestart bool
	// StaleAck is how old the replica's acknowledgement of a state may be
	// (since this conference sent it, on its own clock) and still release
	// everything that follows from the state. An older one came to a
	// process that stalled (a pause, a frozen VM) while the cluster may
	// have moved the conference: it releases only what leaves on the
	// shard session, which the server fences, up to the first entry that
	// does not; the state is sent again, and only a fresh acknowledgement
	// releases the rest. The cluster gives a node's
	// conferences away only after it missed its probes for ~1 s and the
	// promotion delay (1 s) more, so a second is safe; a node whose round
	// trips take longer is fenced by its quorum rule anyway.
	StaleAck time.Duration
	// SourceSignalingDelays batches the source changes each participant
	// is told of (Jicofo's conference.source-signaling-delays): in a
	// conference of at least a given size, a change waits that long, and
	// every change meanwhile goes with it in one source-remove and one
	// source-add. Without batching a join in a room of N sends N
	// source-adds, and a room filling up sends N² through the server.
	SourceSignalingDelays SignalingDelays
	// Caps is the node's cache of client features by the capabilities
	// (XEP-0115) their presence announces, shared by its conferences: a
	// participant whose announced ver was proved before is not asked for
	// its features (Jicofo's Smack keeps the same cache). Nil asks every
	// participant.
	Caps *caps.Cache
	// Leaves are the node's delayed leaves of visitor rooms, shared by its
	// conferences (seats.go). Nil leaves at once.
	Leaves *Leaves
	// SeatLeaveDelay is how long a node's session stays in the visitor
	// rooms of a conference it no longer drives or stands by for: long
	// enough for the node that does now to be in them. After a handover
	// from a live owner, standbys sit in the visitor rooms only twice as
	// late (seats.go).
	SeatLeaveDelay time.Duration

	Logger *slog.Logger
}

// DefaultCapsVers is how many vers DefaultConfig's cache keeps: one per
// client version and browser is what a node meets.
const DefaultCapsVers = 1024

// SignalingDelays maps a conference size to the delay of source signalling
// from that size on (up to the next size listed).
type SignalingDelays map[int]time.Duration

// For is the delay in a conference of size participants: that of the
// largest size listed not above it, none below the smallest.
func (d SignalingDelays) For(size int) time.Duration {
	best, delay := -1, time.Duration(0)
	for s, v := range d {
		if s <= size && s > best {
			best, delay = s, v
		}
	}
	return delay
}

// DefaultSourceSignalingDelays is Config.SourceSignalingDelays' default
// (read only: configurations get a copy).
// Jicofo's is none (its documentation's example: 50 → 500 ms, 100 →
// 1 s). Below 50 participants nothing waits, as before. From 50 on a
// change waits half a second, 1 s from 100 on, 2 s from 300 on: each
// participant then gets at most two source signalling stanzas per delay
// however fast the room fills, which is what lets one server carry a room
// of 500 (BENCHMARKS.md, "One big room, batched"); the wait is short next
// to the seconds a client needs to set its media up in a room that size.
var DefaultSourceSignalingDelays = SignalingDelays{50: 500 * time.Millisecond, 100: time.Second, 300: 2 * time.Second}

// DefaultConfig has Jicofo's defaults.
func DefaultConfig() Config {
	return Config{
		Nick:                     "focus",
		InitialTimeout:           15 * time.Second,
		EmptyTimeout:             2 * time.Second,
		SingleParticipantTimeout: 20 * time.Second,
		JoinTimeout:              10 * time.Second,
		RequestTimeout:           15 * time.Second,
		StandbyWait:              4 * time.Second,
		AutoOwner:                true,
		MinParticipants:          2,
		JSONSources:              true,
		StripSimulcast:           true,
		ICERestart:               true,
		StaleAck:                 time.Second,
		SourceSignalingDelays:    maps.Clone(DefaultSourceSignalingDelays),
		Caps:                     caps.NewCache(DefaultCapsVers),
		Leaves:                   NewLeaves(),
		SeatLeaveDelay:           5 * time.Second,
		Logger:                   slog.Default(),
	}
}
