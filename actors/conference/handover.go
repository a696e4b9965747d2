package conference

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"mellium.im/xmpp/jid"

	"focal/actors/await"
	"focal/xmpp"
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
//
// Colibri2 leaves through the node's own session (the brewery's), not the
// shard session the new owner resumes, so the server does not order the
// two owners' requests to a bridge by itself: a colibri session's answer
// to the barrier means it has queued its requests on that session, not
// that the server has read them. Under load they reached the bridge up to
// a second after the new owner's first ones, which undid its changes
// (sources added again after their removal). So the final state waits as
// well for the server's answer to a ping on the bridge wire, queued after
// those requests: a server reads a connection's stanzas in order and
// routes each before reading the next, so by then they are on their way
// to the bridge, ahead of anything the new owner sends.

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

// bridgeWireRead: the server answered the handover's ping on the bridge
// wire (err nil), so it has read every Colibri2 request queued before it.
type bridgeWireRead struct {
	children childrenDone
	err      error
}

// bridgeWireReadTimeout bounds the wait for the bridge wire's ping.
const bridgeWireReadTimeout = time.Second

// onChildrenDone makes sure the server has read the conference's Colibri2
// requests, if it has bridges, then hands over.
func (c *conference) onChildrenDone(ctx actor.Context, msg childrenDone) {
	if c.handing == nil || c.ending {
		return
	}
	server := ""
	if focus, err := jid.Parse(c.cfg.FocusJID); err == nil {
		server = focus.Domainpart()
	}
	if len(c.bridges) == 0 || c.bridgeWire == nil || server == "" {
		c.onBridgeWireRead(ctx, bridgeWireRead{children: msg})
		return
	}
	self, root := ctx.Self(), ctx.ActorSystem().Root
	ping := xmpp.NewIQ(xmpp.IQGet, "", server, "", xmpp.NewElement("urn:xmpp:ping", "ping"))
	c.bridgeWire.Request(ping, bridgeWireReadTimeout, func(res *xmpp.Element, err error) {
		if res != nil {
			err = nil // an error answer is an answer: the server read the ping
		}
		root.Send(self, bridgeWireRead{children: msg, err: err})
	})
}

// onBridgeWireRead sends the final state and stops driving.
func (c *conference) onBridgeWireRead(ctx actor.Context, msg bridgeWireRead) {
	h := c.handing
	if h == nil || c.ending {
		return
	}
	if msg.err != nil {
		c.log.Warn("handing over before the server confirmed it read the conference's Colibri2 requests", "to", h.node, "err", msg.err)
	}
	if msg.children.answered {
		c.bridgeConfirmed(msg.children.bridgeSent)
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
