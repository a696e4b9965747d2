package conference

import (
	"errors"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"focal/proto"
	"focal/xmpp"
	"focal/xmpp/session"
)

// join sends the MUC join presence if the stream is up; otherwise StreamUp
// will call it again.
func (c *conference) join(ctx actor.Context) {
	if c.wire == nil || !c.streamUp || c.joined || c.ending {
		return
	}
	c.joinGen++
	if c.joinT != nil {
		c.joinT.Stop()
	}
	p := c.focusPresence()
	if err := c.wire.Send(xmpp.JoinPresence(c.room, c.cfg.Nick, p.Elements()...)); err != nil {
		if errors.Is(err, session.ErrNotConnected) {
			c.streamUp = false // StreamDown is on its way; StreamUp re-joins
			return
		}
		c.log.Error("join room", "err", err)
	} else {
		c.presenceSent = p.Key()
	}
	c.joinT = c.after(c.cfg.JoinTimeout, joinTimeout{gen: c.joinGen})
}

func (c *conference) onJoinTimeout(ctx actor.Context, msg joinTimeout) {
	if msg.gen != c.joinGen || c.joined || c.ending {
		return
	}
	c.failWaiting(ctx, xmpp.NewStanzaError(xmpp.RemoteServerTimeout, "timed out joining the conference room"))
	if !c.everJoin {
		c.end(ctx, "could not join the room")
		return
	}
	c.log.Warn("re-join timed out; trying again")
	c.join(ctx)
}

// onSelfPresence handles the room's presence about the focus itself.
func (c *conference) onSelfPresence(ctx actor.Context, p xmpp.OccupantPresence) {
	switch {
	case p.Error != nil:
		c.log.Error("room refused the focus", "err", p.Error)
		c.failWaiting(ctx, *p.Error)
		c.end(ctx, "join refused")
	case p.Unavailable:
		// Kicked, or the room was destroyed: the room is gone for the focus.
		c.joined = false
		c.log.Warn("focus removed from the room", "codes", p.Codes)
		c.end(ctx, "focus removed from the room")
	case c.joined:
		// A presence update about the focus (a role change, or another
		// focus session joining or leaving).
		if p.Affiliation != xmpp.AffiliationOwner {
			c.end(ctx, "focus lost owner")
		}
	default:
		if p.Affiliation != xmpp.AffiliationOwner {
			c.log.Error("focus is not an owner of the room", "affiliation", p.Affiliation)
			c.failWaiting(ctx, xmpp.NewStanzaError(xmpp.NotAllowed, "the focus is not an owner of the room"))
			c.end(ctx, "not owner")
			return
		}
		rejoin := c.everJoin
		c.joined, c.everJoin = true, true
		if c.joinT != nil {
			c.joinT.Stop()
		}
		c.log.Info("focus joined the room", "rejoin", rejoin)
		c.answerWaiting(ctx)
		if rejoin || c.restored {
			c.restored = false
			c.dropUnconfirmed(ctx)
		}
		c.electOwner(ctx)
		c.askRoomInfo()
		c.selectBridges(ctx)
	}
}

// onStreamUp: the focus's stream is up again. A resumed session (XEP-0198)
// is still in the room, with what it missed redelivered; a new one is not:
// the server took the focus out of the room with the old session, and
// whoever is still there shows up again in the occupant list of the
// re-join.
func (c *conference) onStreamUp(ctx actor.Context, msg *StreamUp) {
	c.streamUp, c.focusAddr, c.st.Session = true, msg.Addr, msg.Session
	if msg.Resumed && c.joined {
		return
	}
	if c.joined {
		c.joined = false
		c.ownerPending = ""
		for _, m := range c.members {
			m.confirmed = false
		}
		c.log.Warn("focus session lost; re-joining the room")
	}
	c.join(ctx)
}

// end leaves the room and stops the conference.
func (c *conference) end(ctx actor.Context, reason string) {
	if c.ending {
		return
	}
	c.ending = true
	c.log.Info("ending conference", "reason", reason)
	if c.replica != nil && !c.handedOver && !c.standby {
		// The standby leaves with the conference.
		c.version++
		ctx.Send(c.replica, &focalpb.ConferenceState{Room: c.room, Owner: c.cfg.Node, Version: c.version, Ended: true})
	}
	ctx.Request(ctx.Parent(), &Ended{Room: c.room, HandedOver: c.handedOver, HandedTo: c.handedTo})
	if c.joined && !c.handedOver {
		c.leaveVisitorRooms()
		_ = c.wire.Send(xmpp.LeavePresence(c.room, c.cfg.Nick))
	}
	c.joined = false
	c.failWaiting(ctx, xmpp.NewStanzaError(xmpp.ServiceUnavailable, "conference ended: "+reason))
	ctx.Stop(ctx.Self())
}

// armIdleTimeout ends the conference if the room is still without
// participants after d. Any participant joining disarms it.
func (c *conference) armIdleTimeout(d time.Duration) {
	c.idleGen++
	if c.idleT != nil {
		c.idleT.Stop()
	}
	c.idleT = c.after(d, idleTimeout{gen: c.idleGen})
}

func (c *conference) onIdleTimeout(ctx actor.Context, msg idleTimeout) {
	if msg.gen != c.idleGen || len(c.members) > 0 || c.standby {
		return
	}
	if !c.joined || !c.streamUp {
		return // out of the room with the stream; the re-join re-arms this
	}
	if c.everEmptied {
		c.end(ctx, "last participant left")
	} else {
		c.end(ctx, "nobody joined")
	}
}
