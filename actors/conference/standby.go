package conference

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"focal/proto"
	"focal/xmpp"
)

// In a cluster a conference on the replica node stands by: it keeps the
// owner's latest replicated state, is not in the room and drives nothing.
// The room's focus occupant is the owner's shard session; whoever drives
// the conference next resumes that session (XEP-0198) and with it the
// occupant, still owner, with the stanzas Prosody queued meanwhile, so
// participants see no presence of the focus at all. Only when resumption
// fails does the promoted conference join the room afresh. See the cluster
// design in README.

// maxBuffered bounds the stanzas a standby keeps for after its promotion.
const maxBuffered = 256

func (c *conference) onReplicatedState(ctx actor.Context, st *focalpb.ConferenceState) {
	if !c.standby {
		c.log.Warn("ignoring replicated state: this node drives the conference", "from", st.Owner)
		return
	}
	if c.latest != nil && st.Version <= c.latest.Version && st.Owner == c.latest.Owner && !st.Final {
		return
	}
	seatsMoved := c.latest != nil && st.SeatsFromUnixMs > c.latest.SeatsFromUnixMs
	c.latest, c.standbyFor = st, st.Owner
	if seatsMoved {
		c.onSeatsMoved()
	}
	c.pruneRoster(st)
	c.seatStandby()
}

// promote makes this node drive the conference from the replicated state,
// on the given session. seated says the session is already the focus
// occupant of the room (it was resumed); otherwise the conference joins,
// and the occupant list it gets confirms which members are still there.
func (c *conference) promote(ctx actor.Context, p *Promote) {
	if !c.standby {
		return
	}
	c.standby = false
	// The meeting id is the one the bridges know the conference by.
	c.meetingIDSettled = true
	if c.latest != nil {
		// A resumed session is the occupant the previous owner's
		// presence went out for: as far as is known, it carried the
		// replicated bridges, and a bridge then.
		c.presenceSent = c.presenceFor(len(c.latest.Bridges), false).Key()
	}
	// The participants it imports talk on the new wire.
	c.wire, c.focusAddr, c.streamUp = p.Wire, p.Addr, p.Up
	if c.latest != nil {
		handedOver := c.latest.Final
		c.importState(ctx, c.latest)
		c.importOutbox(ctx)
		c.latest = nil
		c.restored = !p.Seated
		if handedOver {
			// The previous owner may be alive, its session still in the
			// visitor rooms for a while (seats.go).
			c.st.SeatsFromUnixMs = max(c.st.SeatsFromUnixMs, time.Now().Add(c.seatsAfterHandover()).UnixMilli())
		}
	}
	c.st.Session = p.Session
	c.log.Info("driving the conference", "seated", p.Seated, "buffered", len(c.buffered))
	if p.Seated {
		c.joined, c.everJoin = true, true
		for _, m := range c.members {
			m.confirmed = true
		}
		c.answerWaiting(ctx)
	}
	for _, el := range c.buffered {
		c.onStanza(ctx, el)
	}
	c.buffered = nil
	// Who is in the visitor rooms now, as far as the seats heard: visitors
	// who came or went while the conference moved.
	for _, el := range c.roster {
		c.onStanza(ctx, el)
	}
	c.roster, c.seats = nil, nil
	// This node's connections join the visitor rooms (the same occupant,
	// another session), or, seated already, tell them the focus's
	// presence as it is now.
	c.rejoinVisitorRooms()
	if p.Seated {
		c.electOwner(ctx)
		c.selectBridges(ctx)
		return
	}
	c.join(ctx)
}

// buffer keeps a stanza that reached a standby (passed on by the previous
// owner during a handover) for after the promotion.
func (c *conference) buffer(el *xmpp.Element) {
	c.log.Debug("buffered for after the promotion", "kind", el.Name.Local, "id", el.AttrValue("id"))
	if len(c.buffered) >= maxBuffered {
		if xmpp.IsIQRequest(el) {
			c.reply(xmpp.ErrorFor(el, xmpp.NewStanzaError(xmpp.ResourceConstraint, "the focus is moving; try again")))
		}
		return
	}
	c.buffered = append(c.buffered, el)
}

func (c *conference) passOn(ctx actor.Context, msg *PassOn) {
	if c.standby && c.latest != nil {
		st := proto.Clone(c.latest).(*focalpb.ConferenceState)
		st.Final, st.Owner, st.SentUnixMs = true, "", time.Now().UnixMilli()
		ctx.Send(msg.To, st)
		if msg.Session != nil {
			sm := proto.Clone(msg.Session).(*focalpb.ShardSession)
			sm.Final, sm.Owner, sm.SentUnixMs = true, "", time.Now().UnixMilli()
			ctx.Send(msg.To, sm)
		}
	}
	// The node it passed to joins the visitor rooms when it drives: the
	// seats stay until then, or the occupant might leave in between.
	c.leaveSeats(c.cfg.SeatLeaveDelay)
	ctx.Stop(ctx.Self())
}
