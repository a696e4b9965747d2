package conference

import (
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"focal/cluster"
	"focal/media/sources"
	"focal/xmpp"
	"focal/xmpp/session"
)

// Wire is the part of an XMPP stream a conference uses. Both calls return at
// once; responses come back through the callback, which must not block.
type Wire interface {
	Send(stanza *xmpp.Element) error
	Request(iq *xmpp.Element, timeout time.Duration, cb session.ResponseFunc)
}

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
	// EmptyTimeout is how long a conference whose last participant left
	// waits before it ends.
	EmptyTimeout time.Duration
	// JoinTimeout bounds the MUC join; past it, waiting requests get an error.
	JoinTimeout time.Duration
	// RequestTimeout bounds IQs the conference sends (e.g. granting owner).
	RequestTimeout time.Duration
	// AutoOwner grants owner to the first participant and elects another when
	// the owner leaves (Jicofo's enable-auto-owner).
	AutoOwner bool

	// Node is this node's name in the cluster ("" when not clustered).
	Node string
	// Sessions opens the shard sessions conferences are driven on in a
	// cluster; nil (outside a cluster) puts every conference on the
	// directory's wire.
	Sessions SessionOpener
	// Shards is how many shards rooms are placed in (cluster.Shard); every
	// node of a cluster must use the same.
	Shards int
	// PromoteDelay is how long a standby waits, once its owner is gone
	// from the membership, before it drives the conference. It must exceed
	// how much sooner the majority of a partition can declare a node dead
	// than that node sees itself in a minority (memberlist's suspicion
	// timeout shrinks with confirmations, which only the majority gets).
	PromoteDelay time.Duration
	// FenceDelay is how long the quorum must be missing before the node
	// stops driving conferences. It absorbs the few milliseconds for which
	// members believe a stale death gossiped by a member rejoining after a
	// partition, and must stay well below PromoteDelay.
	FenceDelay time.Duration

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

	Logger *slog.Logger
}

// DefaultConfig has Jicofo's defaults.
func DefaultConfig() Config {
	return Config{
		Nick:            "focus",
		InitialTimeout:  15 * time.Second,
		EmptyTimeout:    2 * time.Second,
		JoinTimeout:     10 * time.Second,
		RequestTimeout:  15 * time.Second,
		AutoOwner:       true,
		MinParticipants: 2,
		PromoteDelay:    time.Second,
		FenceDelay:      250 * time.Millisecond,
		Shards:          cluster.DefaultShards,
		JSONSources:     true,
		Logger:          slog.Default(),
	}
}
