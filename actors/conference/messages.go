package conference

import (
	"focal/cluster"
	"focal/xmpp"
)

// Stanza is a stanza from the client stream about a room: a presence from
// one of its occupants, or an IQ or message an occupant sent the focus.
type Stanza struct {
	Room string // bare room JID
	El   *xmpp.Element
}

// StreamUp tells conferences the client stream (re)connected: they re-join
// their rooms.
type StreamUp struct{ Addr string }

// StreamDown tells conferences the client stream dropped: the server has
// taken the focus out of every room.
type StreamDown struct{}

// ended is sent by a conference to the directory before it stops, so that
// requests arriving meanwhile create a new conference rather than reach a
// stopping one.
type ended struct{ room string }

// Timer and response messages a conference sends itself.
type (
	idleTimeout  struct{ gen int }
	joinTimeout  struct{ gen int }
	ownerGranted struct {
		nick string
		err  error
	}
)

// Placement tells the directory who is in the cluster: it owns the rooms
// whose highest rendezvous score is its own, stands by for those where it
// comes second, and forwards requests for the others to their owners.
type Placement struct {
	Self    string           // this node's member name
	Members []cluster.Member // alive members, with their remote addresses
}
