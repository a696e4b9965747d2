package directory

import (
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"focal/actors/conference"
	"focal/cluster"
	"focal/proto"
	"focal/xmpp"
)

// Forwarding: a conference request for a room another member owns goes to
// that member's directory, and its answer back to the requester. An owner
// that does not answer within Config.ForwardTimeout may be dead without
// the membership knowing yet (a send to a dead node's remote address
// stalls for seconds), or out of this node's reach alone (a partition
// between the two): the request is then relayed once through another
// member, which forwards it by its own view, and the answer comes back
// the same way; if that fails too, the requester is answered
// ready='false', which Jitsi clients retry after a second. An owner whose
// process is proven gone meanwhile (Placement.Exited) will never answer:
// its requests are routed again at once, to the room's owner in the new
// view, rather than left to time out and be retried a second later.

// pendingForward is a conference request passed to another member and
// not answered yet.
type pendingForward struct {
	req  *focalpb.ConferenceRequest
	to   *actor.PID
	done bool // answered, timed out, or routed again
}

// forward passes a conference request on to the directory of the room's
// owner, and the answer back to the requester.
func (d *directory) forward(ctx actor.Context, owner cluster.Member, req *focalpb.ConferenceRequest) {
	d.forwardFor(ctx, ctx.Sender(), owner, req)
}

// forwardFor forwards req to owner on behalf of to.
func (d *directory) forwardFor(ctx actor.Context, to *actor.PID, owner cluster.Member, req *focalpb.ConferenceRequest) {
	d.forwardWithin(ctx, to, owner, req, d.cfg.ForwardTimeout)
}

// forwardWithin forwards req to owner on behalf of to, waiting timeout for
// the answer.
func (d *directory) forwardWithin(ctx actor.Context, to *actor.PID, owner cluster.Member, req *focalpb.ConferenceRequest, timeout time.Duration) {
	p := &pendingForward{req: req, to: to}
	d.forwards[owner.Name] = append(d.forwards[owner.Name], p)
	d.forwardTo(ctx, to, owner, req, timeout, func() bool {
		if p.done {
			return false
		}
		p.done = true
		d.forwards[owner.Name] = slices.DeleteFunc(d.forwards[owner.Name], func(q *pendingForward) bool { return q == p })
		if len(d.forwards[owner.Name]) == 0 {
			delete(d.forwards, owner.Name)
		}
		return true
	}, func(err error) *focalpb.ConferenceResponse {
		if via, ok := d.relayFor(owner.Name, req); ok {
			d.log.Info("the room's owner did not answer a conference request; relaying it through another member", "room", req.Room, "node", owner.Name, "via", via.Name, "err", err)
			relayed := proto.Clone(req).(*focalpb.ConferenceRequest)
			relayed.Relayed, relayed.PassOn = true, true
			// The relay waits ForwardTimeout for the owner itself.
			d.forwardWithin(ctx, to, via, relayed, 2*d.cfg.ForwardTimeout)
			return nil
		}
		d.log.Warn("the room's owner did not answer a conference request; the client is to retry", "room", req.Room, "node", owner.Name, "err", err)
		return &focalpb.ConferenceResponse{Room: req.Room, Ready: false}
	})
}

// onStandbyGaveUp forwards a request a standby here held too long to the
// owner it stands by for; the client is told to retry if that owner is no
// member any more (its conference moves, and the next request finds it).
func (d *directory) onStandbyGaveUp(ctx actor.Context, msg *conference.StandbyGaveUp) {
	// Among all members, heard lately or not: this node may not hear
	// the owner, and the request is relayed then.
	var owner cluster.Member
	ok := false
	if d.placement != nil {
		i := slices.IndexFunc(d.placement.Members, func(m cluster.Member) bool { return m.Name == msg.Owner })
		if ok = i >= 0; ok {
			owner = d.placement.Members[i]
		}
	}
	if !ok || msg.Owner == d.self {
		respond(ctx, msg.To, &focalpb.ConferenceResponse{Room: msg.Request.Room, Ready: false})
		return
	}
	req := proto.Clone(msg.Request).(*focalpb.ConferenceRequest)
	req.Forwarded = true
	d.forwardFor(ctx, msg.To, owner, req)
}

// relayFor picks the member a request the owner did not answer is relayed
// through: another member than this node and the owner, the first by
// name; none for a request relayed already.
func (d *directory) relayFor(owner string, req *focalpb.ConferenceRequest) (cluster.Member, bool) {
	if req.Relayed {
		return cluster.Member{}, false
	}
	for _, m := range d.members { // sorted by name
		if m.Name != d.self && m.Name != owner {
			return m, true
		}
	}
	return cluster.Member{}, false
}

// forwardTo passes msg to the directory of owner and its answer back to
// the sender, once settle says the answer is still wanted (nil: always);
// an owner that does not answer within timeout gets the sender instead
// what unanswered says (nil: unanswered has seen to it).
func (d *directory) forwardTo(ctx actor.Context, to *actor.PID, owner cluster.Member, msg any, timeout time.Duration, settle func() bool, unanswered func(error) *focalpb.ConferenceResponse) {
	f := ctx.RequestFuture(directoryOf(owner), msg, timeout)
	ctx.ReenterAfter(f, func(res any, err error) {
		if settle != nil && !settle() {
			return
		}
		if to == nil {
			return
		}
		if r, ok := res.(*focalpb.ConferenceResponse); ok && err == nil {
			ctx.Send(to, r)
			return
		}
		if r := unanswered(err); r != nil {
			ctx.Send(to, r)
		}
	})
}

// rerouteExited routes again the requests forwarded to members whose
// process is proven gone.
func (d *directory) rerouteExited(ctx actor.Context, exited []string) {
	for _, name := range exited {
		pending := d.forwards[name]
		delete(d.forwards, name)
		for _, p := range pending { // answered ones have left the list
			p.done = true
			d.log.Info("routing a conference request again: the owner it went to is gone", "room", p.req.Room, "node", name)
			d.reroute(ctx, p.req, p.to)
		}
	}
}

// cutOffAnswer refuses a conference request while this node lacks quorum.
func cutOffAnswer(room string) *focalpb.ConferenceResponse {
	return &focalpb.ConferenceResponse{Room: room, Error: &focalpb.StanzaError{
		Type: "wait", Condition: xmpp.ServiceUnavailable, Text: "this focus node is cut off from its cluster"}}
}

// reroute handles, on behalf of to, a request that passed this
// directory's checks once already.
func (d *directory) reroute(ctx actor.Context, req *focalpb.ConferenceRequest, to *actor.PID) {
	switch owner, remote := d.remoteOwner(req.Room); {
	case d.fenced:
		respond(ctx, to, cutOffAnswer(req.Room))
	case remote:
		d.forwardFor(ctx, to, owner, req)
	default:
		d.serve(ctx, req, to, true)
	}
}
