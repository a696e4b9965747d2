package directory

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"focal/actors/conference"
	"focal/cluster"
	"focal/proto"
)

// Reach of other members' directories over the actor link. Steady contact
// (contact.go) is judged by memberlist's probes, which have a socket of
// their own; a conference's states, its final state and the stanzas that
// follow it travel on the protoactor remote link, which reconnects on its
// own schedule and can stay down for seconds after a partition heals
// while probes get through (4.3 s in one both-ways run). A conference kept
// for its owner replicated into that dead link, handed over once contact
// was steady, and its final state, sent once, was lost: the owner resumed
// the session, which counted requests the older state it promoted knew
// nothing of, and nobody answered them. So a handover also needs a round
// trip over the actor link, answered lately (reachFresh).

// reachFresh is how long an answered round trip counts: a handover goes
// within it. Longer would let a link that died meanwhile count; shorter
// would add a round trip to handovers that follow each other.
const reachFresh = time.Second

// reachTimeout bounds one round trip. A loaded member answering late only
// delays the handover.
const reachTimeout = 500 * time.Millisecond

// reachRetry paces the checks of a member whose link is down: a request
// to an address with no connection can fail at once.
const reachRetry = 250 * time.Millisecond

// reach is what this node knows of its actor link to one member.
type reach struct {
	remote   string    // the member's address the answer came from
	answered time.Time // the latest answered round trip
	asked    time.Time // when the latest check went
	asking   bool
}

// reached says whether m's directory answered a round trip over the actor
// link within reachFresh. If not, it checks (one check at a time, paced by
// reachRetry), and placement is looked at again once the check is over.
func (d *directory) reached(ctx actor.Context, m cluster.Member, now time.Time) bool {
	if m.Name == d.self {
		return true
	}
	if d.reach == nil {
		d.reach = make(map[string]*reach)
	}
	r := d.reach[m.Name]
	if r == nil || r.remote != m.Remote {
		// A member back at another address (restarted) is another link.
		r = &reach{remote: m.Remote}
		d.reach[m.Name] = r
	}
	if !r.answered.IsZero() && now.Sub(r.answered) <= reachFresh {
		return true
	}
	if r.asking {
		return false
	}
	if wait := r.asked.Add(reachRetry); now.Before(wait) {
		d.recheckAt(ctx, wait)
		return false
	}
	r.asking, r.asked = true, now
	f := ctx.RequestFuture(directoryOf(m), &focalpb.ReachCheck{}, reachTimeout)
	ctx.ReenterAfter(f, func(res any, err error) {
		r.asking = false
		if _, ok := res.(*focalpb.ReachAck); err == nil && ok {
			r.answered = time.Now()
		} else {
			d.log.Info("the member's directory did not answer over the actor link", "node", m.Name, "err", err)
		}
		if d.placement != nil {
			d.onPlacement(ctx, d.placement)
		}
	})
	return false
}

// onHandOverAborted: a conference gave up its handover to a node that
// never acknowledged the final state. It drives on here and gets the
// stanzas held for it; that node's link counts as unanswered, so the next
// handover waits for a new round trip.
func (d *directory) onHandOverAborted(ctx actor.Context, msg *conference.HandOverAborted, from *actor.PID) {
	r := d.rooms[msg.Room]
	if r == nil || from == nil || !r.pid.Equal(from) || !r.handingToNode() {
		return
	}
	d.log.Warn("handover given up", "room", msg.Room, "node", msg.Node)
	if rc := d.reach[msg.Node]; rc != nil {
		rc.answered = time.Time{}
	}
	r.handingOff = ""
	held := r.held
	r.held = nil
	for _, st := range held {
		d.route(ctx, st)
	}
	if d.fenced {
		d.fence(ctx, msg.Room, r)
	} else {
		d.place(ctx, msg.Room, r)
	}
}
