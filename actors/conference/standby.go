package conference

import (
	"github.com/asynkron/protoactor-go/actor"

	"focal/proto"
	"focal/xmpp"
)

// A conference on the replica node stands by: it is in the room as a second
// session of the focus occupant (Prosody shows participants one occupant
// whatever the number of sessions, and only a change of presence content),
// keeps the owner's latest replicated state and drives nothing. When the
// owner dies, Prosody makes the standby session the occupant's primary
// within milliseconds (participants' IQs now reach it; they are buffered),
// and membership promotes it about a second later. See DESIGN in README.

// maxBuffered bounds the IQs a standby keeps for after its promotion.
const maxBuffered = 256

// nsResync marks the join the focus re-sends to get the occupant list
// again after a takeover, so that its echo is told apart from presence
// updates other focus sessions cause.
const nsResync = "urn:focal:resync"

// standbyJoined is sent by a standby conference to its directory once in
// the room, for the node driving the conference.
type standbyJoined struct{ room, owner string }

func (c *conference) onReplicatedState(ctx actor.Context, st *focalpb.ConferenceState) {
	if st.Reseat {
		c.reseat(ctx)
		return
	}
	if !c.standby {
		c.log.Warn("ignoring replicated state: this node drives the conference", "from", st.Owner)
		return
	}
	if c.latest != nil && st.Version <= c.latest.Version && st.Owner == c.latest.Owner && !st.Final {
		return
	}
	c.latest, c.standbyFor = st, st.Owner
	if st.Final {
		c.log.Info("conference handed over to this node", "from", st.Owner)
		c.promote(ctx)
	}
}

// promote makes this node drive the conference from the replicated state.
func (c *conference) promote(ctx actor.Context) {
	if !c.standby {
		return
	}
	c.standby = false
	if c.latest != nil {
		c.importState(ctx, c.latest)
		c.restored, c.latest = true, nil
	}
	c.log.Info("driving the conference", "joined", c.joined, "buffered", len(c.buffered))
	for _, iq := range c.buffered {
		c.onStanza(ctx, iq)
	}
	c.buffered = nil
	if c.joined {
		for _, to := range c.waiting {
			c.respondReady(ctx, to)
		}
		c.waiting = nil
		c.resync()
	}
}

// resync re-sends the join so that the room lists its occupants again; the
// echo of the marked join ends the resync (onSelfPresence).
func (c *conference) resync() {
	c.resyncing = true
	join := xmpp.JoinPresence(c.room, c.cfg.Nick)
	join.Append(xmpp.NewElement(nsResync, "resync", "node", c.cfg.Node))
	if err := c.wire.Send(join); err != nil {
		c.log.Warn("resync join not sent", "err", err)
	}
}

// onResynced runs once the occupant list after a takeover is complete.
func (c *conference) onResynced(ctx actor.Context) {
	c.resyncing, c.restored = false, false
	c.dropUnconfirmed(ctx)
	c.inviteAll(ctx)
}

func (c *conference) bufferIQ(el *xmpp.Element) {
	if len(c.buffered) >= maxBuffered {
		c.reply(xmpp.ErrorFor(el, xmpp.NewStanzaError(xmpp.ResourceConstraint, "the focus is moving; try again")))
		return
	}
	c.buffered = append(c.buffered, el)
}

// startHandOver makes the new owner's node the replica; once its standby
// is in the room (StandbyJoined, now or already) this node sends the final
// state and leaves, so that the room always has a focus session and only
// one node drives the conference.
func (c *conference) startHandOver(ctx actor.Context, to *actor.PID, node string) {
	if c.standby || c.handOverTo != nil {
		return
	}
	c.log.Info("handing the conference over", "to", node)
	if c.replica == nil || !c.replica.Equal(to) {
		c.standbyIn = ""
	}
	c.handOverTo, c.handOverTN, c.replica = to, node, to
	c.replicate(ctx)
	if c.standbyIn == node {
		c.finishHandOver(ctx)
	}
}

func (c *conference) onStandbyJoined(ctx actor.Context, msg *focalpb.StandbyJoined) {
	if c.standby || c.ending {
		return
	}
	c.standbyIn = msg.Node
	if c.handOverTo != nil && msg.Node == c.handOverTN {
		c.finishHandOver(ctx)
	}
}

func (c *conference) finishHandOver(ctx actor.Context) {
	ctx.Send(c.handOverTo, c.exportState(true))
	c.handedOver = true
	c.log.Info("conference handed over", "to", c.handOverTN)
	c.end(ctx, "handed over to "+c.handOverTN)
}

// reseat leaves the room and joins it again, so that the owner's session,
// now the older one, is where occupants' IQs go. IQs that reached this
// standby meanwhile were meant for the owner and cannot be answered here.
func (c *conference) reseat(ctx actor.Context) {
	if !c.standby {
		return
	}
	for _, iq := range c.buffered {
		c.reply(xmpp.ErrorFor(iq, xmpp.NewStanzaError(xmpp.ServiceUnavailable, "the focus was reconnecting; try again")))
	}
	c.buffered = nil
	c.log.Info("re-joining behind the owner's session")
	if c.joined {
		_ = c.wire.Send(xmpp.LeavePresence(c.room, c.cfg.Nick))
		c.joined, c.reseating = false, true
	}
	c.join(ctx)
}
