package conference

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"focal/actors/await"
	"focal/proto"
)

// A handover moves a conference this node drives to another node, whose
// directory gets the final state and then resumes this node's session,
// which is the room's focus occupant.
//
// The session's resumption state counts every stanza it has read, and the
// new owner resumes from that count: the server never sends those stanzas
// again. So every one of them must be in the final state, or follow it.
// A participant's request is not done when the conference passes it to
// the participant's actor: the answer and the change it makes come back
// in a Report. The final state therefore waits until the participants and
// colibri sessions have handled what they were given (the barrier that
// acknowledgements wait for, onBarrier). What reaches the node for the
// room meanwhile the directory keeps, and passes on to the new owner once
// the conference has ended, behind the final state.

// handingOver is a handover waiting for the conference's children, then
// for the new owner to acknowledge the final state.
type handingOver struct {
	to     *actor.PID // the new owner's directory
	node   string
	reason string
	letGo  bool // cut off: the final state goes once, as a best effort
	// final: the final state, sent and not acknowledged yet; sends counts
	// the times it went.
	final *focalpb.ConferenceState
	sends int
}

// finalDue: the final state of version was sent finalAttempt ago.
type finalDue struct{ version uint64 }

// childrenDone: the participants and colibri sessions have answered the
// handover's barrier (answered false: not all within childBarrierTimeout),
// which began when bridgeSent was the count of bridge messages.
type childrenDone struct {
	answered   bool
	bridgeSent uint64
}

// handOver starts moving the conference to node, whose directory is to.
// With to nil (the session is driven elsewhere already) it stops at once.
func (c *conference) handOver(ctx actor.Context, to *actor.PID, node, reason string) {
	if c.standby || c.ending || c.handing != nil {
		return
	}
	if to == nil {
		c.finishHandOver(ctx, nil, node, reason)
		return
	}
	c.awaitChildren(ctx, &handingOver{to: to, node: node, reason: reason}, childBarrierTimeout)
}

// awaitChildren starts h: the final state goes once the participants and
// colibri sessions have answered a barrier, each within wait, or once one
// did not.
func (c *conference) awaitChildren(ctx actor.Context, h *handingOver, wait time.Duration) {
	c.handing = h
	self, root, sent := ctx.Self(), ctx.ActorSystem().Root, c.bridgeSent
	// Sent after the children's answers, so after what they sent before
	// answering (see onBarrier).
	await.AllAnswered(c.childBarriers(ctx, wait), func(answered bool) {
		root.Send(self, childrenDone{answered: answered, bridgeSent: sent})
	})
}

// bridgeConfirmed forgets the bridge messages up to sent: a barrier that
// began after them was answered by every colibri session actor, which had
// passed them to the wire by then.
func (c *conference) bridgeConfirmed(sent uint64) {
	for nick, n := range c.bridgeInFlight {
		if n <= sent {
			delete(c.bridgeInFlight, nick)
		}
	}
}

// onChildrenDone sends the final state and stops driving.
func (c *conference) onChildrenDone(ctx actor.Context, msg childrenDone) {
	h := c.handing
	if h == nil || c.ending {
		return
	}
	if msg.answered {
		c.bridgeConfirmed(msg.bridgeSent)
	} else {
		c.log.Warn("handing over before every participant and colibri session answered", "to", h.node)
	}
	if h.letGo {
		c.finishHandOver(ctx, h.to, h.node, h.reason)
		return
	}
	h.final = c.stamp(c.finalState(), true)
	c.sendFinal(ctx)
}

// The final state of a handover goes until the new owner acknowledges it.
// Sent once, it was lost in an actor link that was down (after a
// partition healed), and the new owner promoted an older state with a
// session that counted requests it knew nothing of. Until then the
// conference drives nothing: stanzas for the room wait in the directory,
// nothing leaves the outbox (the final state holds it, and the new owner
// sends it), and nothing more goes to the replica. If no acknowledgement
// comes after finalAttempts, the handover is given up: the conference
// drives on, and the directory may try again later. The new owner does not
// drive from a final state without the released session that follows it
// (onShardSession), so one that did arrive changes nothing there.

// finalAttempt bounds one wait for the new owner's acknowledgement of the
// final state; finalAttempts is how many sends it gets.
const (
	finalAttempt  = 500 * time.Millisecond
	finalAttempts = 3
)

// awaitingFinalAck says whether the final state of a handover went and
// is not acknowledged yet.
func (c *conference) awaitingFinalAck() bool {
	return c.handing != nil && c.handing.final != nil
}

func (c *conference) sendFinal(ctx actor.Context) {
	h := c.handing
	h.sends++
	ctx.Request(h.to, h.final)
	c.after(finalAttempt, finalDue{version: h.final.Version})
}

// onFinalAcked ends a handover whose final state the new owner has.
func (c *conference) onFinalAcked(ctx actor.Context) {
	h := c.handing
	c.handedOver, c.handedTo = true, h.to
	// The final state carries the Marks: what was held may go, and the
	// new owner tells from the server's count whether it arrived.
	c.letAcknowledged(true)
	c.log.Info("conference handed over", "to", h.node, "sends", h.sends)
	c.end(ctx, h.reason)
}

func (c *conference) onFinalDue(ctx actor.Context, msg finalDue) {
	h := c.handing
	if !c.awaitingFinalAck() || h.final.Version != msg.version || c.ending {
		return
	}
	if h.sends < finalAttempts {
		c.log.Warn("the new owner has not acknowledged the final state; sending it again", "to", h.node, "sends", h.sends)
		c.sendFinal(ctx)
		return
	}
	c.log.Warn("handover given up: the new owner never acknowledged the final state", "to", h.node, "sends", h.sends)
	c.handing = nil
	// The replica gets the whole state again, and what the outbox held
	// back for the final state goes as the replica acknowledges it.
	c.hasReplicated = false
	ctx.Send(ctx.Parent(), &HandOverAborted{Room: c.room, Node: h.node})
	c.release(ctx)
}

// finalState is the state a handover or let-go ends on. A member whose
// bridge messages no barrier has confirmed is marked behind in it, so
// that the next owner sends the bridge its sources again (a set sent
// again changes nothing the bridge has): the colibri session actor stops
// with this conference, and what was still in its mailbox never went out
// (the flapping partition lost sources at the bridge so). So is every
// member on a bridge reached through the shard session: a barrier tells
// that its requests were queued there, not written, and the session's
// release drops what it has not written (held stanzas block what was
// queued after them); the full suite's flapping partition lost a source
// at the bridge so.
func (c *conference) finalState() *focalpb.ConferenceState {
	st := c.replicatedState()
	for _, m := range st.Members {
		_, unsure := c.bridgeInFlight[m.Nick]
		if bs := c.bridges[m.Bridge]; m.Allocated && bs != nil && bs.Address != "" {
			unsure = true
		}
		if unsure {
			m.BridgeBehind = true
		}
	}
	return st
}

// letGo stops driving, for a node that thinks itself cut off from its
// cluster: the final state goes to the replica as a best effort (if the
// replica can still be reached, it resumes at once; otherwise the majority
// does after this node is declared dead). Like a handover, it first waits
// for the children's barrier, but at most letGoChildWait: the session it
// releases counts the requests a participant's actor is still handling,
// and a final state without their outcome lost them (the flapping
// partition: three requests read just before the let-go). Waiting is
// safe: a node cut off lets go at most 1.25 s after the cut (README), and
// the majority promotes no sooner than 1.6 s after it; meanwhile it sends
// nothing new (its outbox waits for acknowledgements, which a cut off node
// does not get), and what reaches the node for the room is held
// (directory).
func (c *conference) letGo(ctx actor.Context) {
	if c.standby || c.ending || c.handing != nil {
		return
	}
	if c.replica == nil {
		c.finishHandOver(ctx, nil, "", "cut off from the cluster")
		return
	}
	c.awaitChildren(ctx, &handingOver{to: c.replica, reason: "cut off from the cluster", letGo: true}, letGoChildWait)
}

// letGoChildWait bounds a let-go's wait for its children: they answer in
// milliseconds, unless the host is starved.
const letGoChildWait = 100 * time.Millisecond

// finishHandOver sends the final state to to, if any, once, and stops
// driving the conference without leaving the room.
func (c *conference) finishHandOver(ctx actor.Context, to *actor.PID, node, reason string) {
	if to != nil {
		ctx.Send(to, c.stamp(c.finalState(), true))
	}
	c.handedOver, c.handedTo = true, to
	c.log.Info("conference handed over", "to", node)
	c.end(ctx, reason)
}
