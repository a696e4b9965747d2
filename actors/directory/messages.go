package directory

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"focal/cluster"
)

// Name is the directory's actor name on every node, so that other nodes
// can address it.
const Name = "conferences"

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
	// Contacts reads this node's own contact with each other member (see
	// cluster.Contact) as it is now: an acknowledged probe shows the two
	// reach each other both ways. It is read afresh when a decision needs
	// it, not sent with each placement: contact grows steady, or goes
	// stale, without any change to tell. nil: unknown, every member counts
	// as in contact.
	Contacts func() map[string]cluster.Contact
	// Heard says when a member, or one dropped from the membership since,
	// last sent this node anything (cluster.Membership.Heard). nil:
	// unknown.
	Heard func(name string) time.Time
	// FailureTimeout is the longest memberlist keeps a member that stopped
	// answering alive (cluster.Membership.FailureTimeout): a member silent
	// for longer is as good as dead, whatever keeps it in the list.
	FailureTimeout time.Duration
	// Exited names the members whose process is proven gone
	// (cluster.Membership.Exited): not among Members, and nothing of
	// theirs is waited for — a standby they drove is promoted at once,
	// their sessions resumed without asking them.
	Exited []string
}

// ListConferences asks the directory for a Conferences reply.
type ListConferences struct{}

// Conferences lists the conference actors of a node, by room.
type Conferences struct{ Rooms map[string]*actor.PID }

// Timers the directory sets itself.
type (
	// fenceCheck is the end of the fence delay.
	fenceCheck struct{}
	// promoteDue is the end of a standby's promotion delay.
	promoteDue struct{ room string }
	// placeCheck is a moment when placement may decide otherwise with
	// the same members: a contact has become steady, or a silence long.
	placeCheck struct{}
)
