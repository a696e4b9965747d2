package conference

import (
	"github.com/asynkron/protoactor-go/actor"

	"focal/cluster"
	"focal/proto"
	"focal/xmpp"
)

// Stanza is a stanza from the client stream about a room: a presence from
// one of its occupants, or an IQ or message an occupant sent the focus.
type Stanza struct {
	Room string // bare room JID
	El   *xmpp.Element
	// Via is the stream it came on, to answer on when no conference does
	// (nil: the directory's wire).
	Via interface{ Send(*xmpp.Element) error }
}

// StreamUp tells conferences their client stream is up. Resumed says the
// XEP-0198 session carried on (the focus is still in every room);
// otherwise it is a new session and they join their rooms.
type StreamUp struct {
	Addr    string // the focus's full JID
	Session string // XEP-0198 resumption id; empty without stream management
	Resumed bool
}

// StreamDown tells conferences their client stream dropped. Without stream
// management the server has taken the focus out of every room; with it,
// the session may yet be resumed (StreamUp says which).
type StreamDown struct{}

// Barrier is answered (with itself) once the conferences on shard session
// Session have handled every stanza it handed on before the barrier, and
// sent the replica the state that results. A shard session passes one
// before it acknowledges stanzas to the server, so that what it
// acknowledges is in the replica's copy (sessions.go).
type Barrier struct{ Session string }

// barrierDone: the conference's participants have answered a barrier;
// reply answers the directory once what they sent before is handled.
type barrierDone struct{ reply func() }

// ended is sent by a conference to the directory before it stops, so that
// requests arriving meanwhile create a new conference rather than reach a
// stopping one. handedOver: it stopped without leaving the room, and sent
// its final state to handedTo (nil: nobody could be told).
type ended struct {
	room       string
	handedOver bool
	handedTo   *actor.PID
}

// Messages from the directory to a conference about its place in the
// cluster.
type (
	// promote makes a standby conference the one that drives the room, on
	// wire: a session that is the room's focus occupant already (seated:
	// it was resumed) or has to join. up and addr say whether its stream
	// is up and as whom.
	promote struct {
		wire    Wire
		addr    string
		session string
		up      bool
		seated  bool
	}
	// replicaIs names the directory that stands by for the conference.
	replicaIs struct{ pid *actor.PID }
	// handOver asks the conference to move to the node of that directory.
	handOver struct {
		to   *actor.PID
		node string
	}
	// rewire moves a conference whose session ended to a new one, whose
	// StreamUp makes it join its room again.
	rewire struct{ wire Wire }
	// passOn makes a standby send its state to the directory of the
	// conference's owner, as final and ownerless (Owner ""), followed by
	// the resumption state of its session, and stop: the node held what
	// may be the last copy, and is neither owner nor replica.
	passOn struct {
		to      *actor.PID
		session *focalpb.ShardSession
	}
	// fenceCheck is the end of the directory's fence delay.
	fenceCheck struct{}
	// letGo makes the conference stop driving, keeping its media and its
	// session in the room: another node takes it over.
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
