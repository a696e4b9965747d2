package conference

import (
	"github.com/asynkron/protoactor-go/actor"

	"focal/proto"
	"focal/xmpp"
	"focal/xmpp/session"
)

// Stanza is a stanza from the client stream about a room: a presence from
// one of its occupants, or an IQ or message an occupant sent the focus.
type Stanza struct {
	Room string // bare room JID
	El   *xmpp.Element
	// Via is the stream it came on, to answer on when no conference does
	// (nil: the directory's wire).
	Via interface{ Send(*xmpp.Element) error }
	// At is where it stood in the shard session it came on (zero for
	// other streams).
	At StreamPos
}

// StreamPos is where a stanza stood in the server session it came on (see
// session.Session.Position): the session's resumption id, the stanza's
// position in the server's count, and the count the receiving stream began
// from. The server sent that stream every position above Since.
type StreamPos struct {
	Session    string
	Pos, Since uint32
}

// StreamUp tells a conference its client stream is up. Resumed says the
// XEP-0198 session carried on (the focus is still in the room); otherwise
// it is a new session and the conference joins its room.
type StreamUp struct {
	Addr    string // the focus's full JID
	Session string // XEP-0198 resumption id; empty without stream management
	Resumed bool
}

// VNodeUp tells the conferences that the node's connection to visitor
// node Node is up (again): those using the node join its visitor room
// again, and connect the node again once in.
type VNodeUp struct{ Node string }

// StreamDown tells a conference its client stream dropped. Without stream
// management the server has taken the focus out of the room; with it, the
// session may yet be resumed (StreamUp says which).
type StreamDown struct{}

// Barrier is answered (with itself) once the conference has handled every
// stanza handed on to it before the barrier, and sent the replica the
// state that results. A shard session passes one to every conference on
// it before it acknowledges stanzas to the server, so that what it
// acknowledges is in the replica's copy.
type Barrier struct{ Session string }

// GetSnapshot asks a conference for a Snapshot reply.
type GetSnapshot struct{}

// Ended is sent by a conference to its parent (the directory) before it
// stops, so that requests arriving meanwhile create a new conference
// rather than reach a stopping one. HandedOver: it stopped without leaving
// the room, and sent its final state to HandedTo (nil: nobody could be
// told).
type Ended struct {
	Room       string
	HandedOver bool
	HandedTo   *actor.PID
}

// Messages from the directory to a conference about its place in the
// cluster. A conference also takes *focalpb.ConferenceState (its owner's
// latest state, while it stands by) and *focalpb.ConferenceRequest.
type (
	// Promote makes a standby conference the one that drives the room, on
	// Wire: a session that is the room's focus occupant already (Seated:
	// it was resumed) or has to join. Up and Addr say whether its stream is
	// up and as whom.
	Promote struct {
		Wire    session.Wire
		Addr    string
		Session string
		Up      bool
		Seated  bool
	}
	// ReplicaIs names the directory that stands by for the conference.
	ReplicaIs struct{ PID *actor.PID }
	// HandOver asks the conference to move to the node Node, whose
	// directory is To.
	HandOver struct {
		To   *actor.PID
		Node string
	}
	// Rewire moves a conference whose session ended to a new one, whose
	// StreamUp makes it join its room again.
	Rewire struct{ Wire session.Wire }
	// PassOn makes a standby send its state to the directory To of the
	// conference's owner, as final and ownerless (Owner ""), followed by
	// Session, the resumption state of its session, and stop: the node
	// held what may be the last copy, and is neither owner nor replica.
	PassOn struct {
		To      *actor.PID
		Session *focalpb.ShardSession
	}
	// LetGo makes the conference stop driving, keeping its media and its
	// session in the room: another node takes it over.
	LetGo struct{}
)

// StandbyGaveUp is sent by a standby conference to its parent (the
// directory) for a request that waited StandbyWait while the owner, Owner,
// neither handed the conference over nor went: the directory forwards it
// to Owner (relaying it if Owner does not answer), on behalf of To.
type StandbyGaveUp struct {
	Request *focalpb.ConferenceRequest
	To      *actor.PID
	Owner   string
}

// HandOverAborted is sent by a conference to its parent (the directory)
// when it gives a handover up: the new owner, Node, never acknowledged the
// final state. It drives on, and takes the stanzas held for it.
type HandOverAborted struct {
	Room string
	Node string
}

// Timer and response messages a conference sends itself.
type (
	idleTimeout  struct{ gen int }
	joinTimeout  struct{ gen int }
	ownerGranted struct {
		nick string
		err  error
	}
	barrierDone struct {
		reply      func()
		bridgeSent uint64 // bridgeSent when the barrier began
	}
	// acksDue: the replica's acknowledgements of the states sent so far
	// may be overdue (replication.go).
	acksDue struct{}
)
