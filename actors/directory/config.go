package directory

import (
	"time"

	"focal/actors/conference"
	"focal/cluster"
)

// Config of a node's directory.
type Config struct {
	// Conference configures the conferences the directory starts; its Node
	// is set from the placement once the node is in a cluster.
	Conference conference.Config
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
	// ForwardTimeout bounds the wait for the owner of a room to answer a
	// conference request forwarded to it; past it the client is asked to
	// retry (ready='false'). A live owner answers once the focus is in the
	// room, in milliseconds.
	ForwardTimeout time.Duration
	// InheritWait is how long after a change of the member set a request
	// for a room this node has just come to own, and has no conference
	// for, is answered ready='false' instead of starting one: the
	// conference's state may be on its way from the room's previous owner
	// or standby, which see the change at about the same time (gossip
	// spreads it within a probe round or two). A new room's first request
	// in that window waits one client retry.
	InheritWait time.Duration
	// SteadyContact is how long this node must have been in unbroken
	// contact with a member (acknowledged probes both ways) before it
	// hands a conference over to it: a handover to a member that cannot
	// receive it loses the conference, and one to a member whose link
	// flaps moves it back and forth (3 s: several probe rounds, each
	// answered within cluster.ContactGap).
	SteadyContact time.Duration
	// HolderContact is how recently a member must have heard from a
	// session's holder, silent to this node, to count as one through which
	// the holder may still have quorum: a node keeps quorum for its
	// contact window (1 s) plus FenceDelay after its last contact.
	// Such a session is not resumed while the holder may have quorum
	// (takeover.go, askWitnesses).
	HolderContact time.Duration
}

// DefaultConfig has Jicofo's conference defaults and the cluster timing
// the README's partition rule is built on.
func DefaultConfig() Config {
	return Config{
		Conference:     conference.DefaultConfig(),
		Shards:         cluster.DefaultShards,
		PromoteDelay:   time.Second,
		FenceDelay:     250 * time.Millisecond,
		ForwardTimeout: time.Second,
		InheritWait:    2 * time.Second,
		SteadyContact:  3 * time.Second,
		HolderContact:  1500 * time.Millisecond,
	}
}
