package conference

import (
	"github.com/asynkron/protoactor-go/actor"

	"focal/actors/await"
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

// handingOver is a handover waiting for the conference's children.
type handingOver struct {
	to     *actor.PID // the new owner's directory
	node   string
	reason string
}

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
	c.handing = &handingOver{to: to, node: node, reason: reason}
	self, root, sent := ctx.Self(), ctx.ActorSystem().Root, c.bridgeSent
	// Sent after the children's answers, so after what they sent before
	// answering (see onBarrier).
	await.AllAnswered(c.childBarriers(ctx), func(answered bool) {
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
	c.finishHandOver(ctx, h.to, h.node, h.reason)
}

// letGo stops driving at once, for a node that thinks itself cut off from
// its cluster: the final state goes to the replica as a best effort (if
// the replica can still be reached, it resumes at once; otherwise the
// majority does after this node is declared dead). It does not wait for
// the children: a node cut off must stop before the majority promotes,
// and what it read but did not finish, its session does not acknowledge
// (the directory hands on the h the successor has).
func (c *conference) letGo(ctx actor.Context) {
	if c.standby || c.ending || c.handing != nil {
		return
	}
	c.finishHandOver(ctx, c.replica, "", "cut off from the cluster")
}

// finishHandOver sends the final state to to, if any, and stops driving
// the conference without leaving the room. A member whose bridge messages
// no barrier has confirmed is marked behind in it, so that the next owner
// sends the bridge its sources again (a set sent again changes nothing
// the bridge has): the colibri session actor stops with this conference,
// and what was still in its mailbox never went out (the flapping
// partition lost sources at the bridge so).
func (c *conference) finishHandOver(ctx actor.Context, to *actor.PID, node, reason string) {
	if to != nil {
		st := c.replicatedState()
		for _, m := range st.Members {
			if _, unsure := c.bridgeInFlight[m.Nick]; unsure {
				m.BridgeBehind = true
			}
		}
		ctx.Send(to, c.stamp(st, true))
	}
	c.handedOver, c.handedTo = true, to
	c.log.Info("conference handed over", "to", node)
	c.end(ctx, reason)
}
