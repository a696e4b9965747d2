package directory

import (
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"focal/cluster"
	"focal/proto"
)

// Inheritance: a view change can make this node the owner of a room
// whose conference lives elsewhere — its previous owner still drives it
// until it hands it over, or the node that stood by for it passes it on —
// and the state takes a moment to arrive. A conference request for such a
// room must not start a second, empty conference meanwhile: the arriving
// state would then be refused ("state for a conference this node drives")
// and the room would lose its participants' sessions and authentication
// sessions. So the node asks the other members what they hold of the room
// and, until the answers are in, holds the request:
//   - a member drives the conference: the request goes to it, and its
//     conference answers at once;
//   - a member stands by for it (its state is on its way here): the
//     request waits for that state, at most Config.InheritWait, and the
//     conference answers once it drives;
//   - nobody holds it (a new room), or the wait is over: the conference
//     is started here, as without a view change.

// inheritance is what a node knows, while it asks, of a room it may be
// inheriting, and the requests for it that wait.
type inheritance struct {
	waiting []heldRequest
	asked   int            // queries not answered yet
	driver  cluster.Member // a member that drives the conference (Name "" if none)
	standby bool           // some member stands by for it
}

type heldRequest struct {
	req *focalpb.ConferenceRequest
	to  *actor.PID
}

// inheritDue ends the wait for a room's state.
type inheritDue struct{ room string }

// noteView records a change of the member set: the view before it says
// which rooms this node has just inherited. The first view says nothing:
// a node that has just joined knows no owner from before it.
func (d *directory) noteView(members []cluster.Member, now time.Time) {
	switch {
	case !d.clustered:
		d.previous, d.viewChanged, d.firstView = nil, now, now
	case !sameNames(d.members, members):
		d.previous, d.viewChanged = d.members, now
	}
}

// inheriting says whether room may have come to this node with the latest
// view change, less than Config.InheritWait ago, from another node that
// may still be sending its state: its owner before the change was another
// node, or is unknown (this node has just joined, and its first views
// only grow towards the cluster's).
func (d *directory) inheriting(room string, now time.Time) bool {
	if !d.clustered || now.Sub(d.viewChanged) >= d.cfg.InheritWait {
		return false
	}
	if now.Sub(d.firstView) < d.cfg.InheritWait {
		return true
	}
	before, ok := cluster.Owner(cluster.ShardKey(d.shardOf(room)), d.previous)
	return !ok || before.Name != d.self
}

func sameNames(a, b []cluster.Member) bool {
	names := func(ms []cluster.Member) []string {
		out := make([]string, len(ms))
		for i, m := range ms {
			out[i] = m.Name
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(names(a), names(b))
}

// holdInherited holds req if its room may be on its way here, asking the
// other members what they hold of it; it says whether it did.
func (d *directory) holdInherited(ctx actor.Context, req *focalpb.ConferenceRequest, to *actor.PID) bool {
	if h := d.inherits[req.Room]; h != nil {
		h.waiting = append(h.waiting, heldRequest{req, to})
		return true
	}
	if !d.inheriting(req.Room, time.Now()) {
		return false
	}
	h := &inheritance{waiting: []heldRequest{{req, to}}}
	room := req.Room
	for _, m := range d.members {
		if m.Name == d.self {
			continue
		}
		h.asked++
		f := ctx.RequestFuture(directoryOf(m), &focalpb.RoomQuery{Room: room}, d.cfg.ForwardTimeout)
		ctx.ReenterAfter(f, func(res any, err error) {
			held, _ := res.(*focalpb.RoomHeld)
			d.onRoomHeld(ctx, room, m, held)
		})
	}
	if h.asked == 0 {
		return false
	}
	d.inherits[room] = h
	d.log.Info("the room may be on its way here; asking the other members", "room", room, "asked", h.asked)
	return true
}

// onRoomQuery says what this node holds of a room.
func (d *directory) onRoomQuery(ctx actor.Context, q *focalpb.RoomQuery) {
	held := &focalpb.RoomHeld{Room: q.Room}
	if r := d.rooms[q.Room]; r != nil {
		held.Standby = r.standby
		held.Drives = !r.standby && r.handingOff == ""
	}
	ctx.Respond(held)
}

// onRoomHeld takes one member's answer (nil: none in time) and, once all
// are in, decides where the held requests go.
func (d *directory) onRoomHeld(ctx actor.Context, room string, from cluster.Member, held *focalpb.RoomHeld) {
	h := d.inherits[room]
	if h == nil {
		return
	}
	h.asked--
	switch {
	case held == nil:
	case held.Drives:
		h.driver = from
	case held.Standby:
		h.standby = true
	}
	if h.asked > 0 {
		return
	}
	switch {
	case d.rooms[room] != nil:
		d.releaseInherited(ctx, room)
	case h.driver.Name != "":
		delete(d.inherits, room)
		d.log.Info("the room's conference is driven elsewhere; passing its requests on", "room", room, "driver", h.driver.Name)
		for _, w := range h.waiting {
			w.req.Forwarded = true
			d.forwardFor(ctx, w.to, h.driver, w.req)
		}
	case h.standby:
		self, root := ctx.Self(), ctx.ActorSystem().Root
		time.AfterFunc(d.cfg.InheritWait, func() { root.Send(self, inheritDue{room: room}) })
	default:
		d.releaseInherited(ctx, room)
	}
}

// releaseInherited serves the requests held for room: its conference is
// here now, or nobody else has it, or the wait for it is over.
func (d *directory) releaseInherited(ctx actor.Context, room string) {
	h := d.inherits[room]
	if h == nil {
		return
	}
	delete(d.inherits, room)
	for _, w := range h.waiting {
		d.serve(ctx, w.req, w.to, false)
	}
}
