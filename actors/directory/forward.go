package directory

import (
	"slices"

	"github.com/asynkron/protoactor-go/actor"

	"focal/cluster"
	"focal/proto"
	"focal/xmpp"
)

// Forwarding: a conference request for a room another member owns goes to
// that member's directory, and its answer back to the requester. An owner
// that does not answer within Config.ForwardTimeout may be dead without
// the membership knowing yet (a send to a dead node's remote address
// stalls for seconds): the requester is then answered ready='false', which
// Jitsi clients retry after a second. An owner whose process is proven
// gone meanwhile (Placement.Exited) will never answer: its requests are
// routed again at once, to the room's owner in the new view, rather than
// left to time out and be retried a second later.

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
	p := &pendingForward{req: req, to: to}
	d.forwards[owner.Name] = append(d.forwards[owner.Name], p)
	d.forwardTo(ctx, to, owner, req, func() bool {
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
		d.log.Warn("the room's owner did not answer a conference request; the client is to retry", "room", req.Room, "node", owner.Name, "err", err)
		return &focalpb.ConferenceResponse{Room: req.Room, Ready: false}
	})
}

// forwardTo passes msg to the directory of owner and its answer back to
// the sender, once settle says the answer is still wanted (nil: always);
// an owner that does not answer within ForwardTimeout gets the sender
// instead what unanswered says.
func (d *directory) forwardTo(ctx actor.Context, to *actor.PID, owner cluster.Member, msg any, settle func() bool, unanswered func(error) *focalpb.ConferenceResponse) {
	f := ctx.RequestFuture(directoryOf(owner), msg, d.cfg.ForwardTimeout)
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
		ctx.Send(to, unanswered(err))
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
