package conference

import (
	"github.com/asynkron/protoactor-go/actor"

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

// Messages from the directory to a conference about its place in the
// cluster.
type (
	// promote makes a standby conference the one that drives the room.
	promote struct{}
	// replicaIs names the directory that stands by for the conference.
	replicaIs struct{ pid *actor.PID }
	// handOver asks the conference to move to the node of that directory.
	handOver struct {
		to   *actor.PID
		node string
	}
	// letGo makes the conference stop driving and leave the room, keeping
	// its media: another node takes it over.
	letGo struct{}
)

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
	// Quorum is how many members (this one included) the node must see to
	// drive conferences: a strict majority of the configured cluster. A
	// node cut off in a minority stops driving, so that the two sides of a
	// partition never both drive a conference. 0 means 1.
	Quorum int
	// Reachable counts the other members this node heard from lately. It
	// falls as soon as probes go unanswered, long before membership
	// declares anybody dead, so a cut-off node stops driving before the
	// majority's standbys are promoted (Config.PromoteDelay).
	Reachable int
}
