package conference

import (
	"strings"
	"time"

	"focal/proto"
	"focal/xmpp"
)

// Seats in the visitor rooms. The owner's connection to a visitor node is
// its node's own and is not taken over when the node dies: the visitor
// node drops that session at once, and if it was the focus occupant's only
// one, visitors see the focus leave (lib-jitsi-meet ends a conference on
// that) and Jitsi's mod_fmuc ends the room if the main participants are
// not in it yet. So the standby sits in every visitor room of the state it
// keeps, as another session of the same occupant (the nodes log in as the
// same user): the occupant outlives the owner, and the standby, promoted,
// is in the room already.
//
// Prosody keeps the first session an occupant's primary, the one requests
// to the occupant go to, while it stays: the owner joined first, so
// visitors' requests still reach the owner. Presences from a visitor room
// go to every session; a standby keeps the latest per occupant (roster)
// and, promoted, handles them as if they had just come, which tells it of
// visitors who came or went while it took over.

// seatLeaveDelay is how long a standby that passed its state on stays in
// the visitor rooms: long enough for the node it passed to to be in them.
const seatLeaveDelay = 5 * time.Second

// seatStandby joins the visitor rooms of the state the standby keeps that
// it is not in yet.
func (c *conference) seatStandby() {
	if !c.standby || c.latest == nil {
		return
	}
	for _, v := range c.latest.VisitorNodes {
		if c.seats[v.Node] || !v.Connected {
			// Connected: the owner is in the room (it connects the node
			// once in), so it joined first and is the primary session.
			continue
		}
		n, ok := c.cfg.Visitors.Node(v.Node)
		w := c.vnodeWire(v.Node)
		if !ok || w == nil {
			continue
		}
		p := c.presenceOf(len(c.latest.Bridges), false, c.latest.VisitorNodes)
		if err := w.Send(xmpp.JoinPresence(c.visitorRoomOf(n), c.cfg.Nick, p.Elements()...)); err != nil {
			// VNodeUp seats it when the connection is back.
			c.log.Info("standby not seated in the visitor room", "vnode", v.Node, "err", err)
			continue
		}
		if c.seats == nil {
			c.seats = map[string]bool{}
		}
		c.seats[v.Node] = true
		c.log.Debug("standby seated in the visitor room", "vnode", v.Node)
	}
}

// leaveSeats takes the standby's sessions out of the visitor rooms, after
// delay (the actor may be gone by then: the wires outlive it).
func (c *conference) leaveSeats(delay time.Duration) {
	for id := range c.seats {
		n, ok := c.cfg.Visitors.Node(id)
		w := c.vnodeWire(id)
		if !ok || w == nil {
			continue
		}
		leave := xmpp.LeavePresence(c.visitorRoomOf(n), c.cfg.Nick)
		if delay <= 0 {
			_ = w.Send(leave)
			continue
		}
		time.AfterFunc(delay, func() { _ = w.Send(leave) })
	}
	c.seats = nil
}

// keepRoster keeps el, a presence from one of the conference's visitor
// rooms that reached the standby, as its occupant's latest.
func (c *conference) keepRoster(el *xmpp.Element) bool {
	from := el.AttrValue("from")
	room, _, _ := strings.Cut(from, "/")
	if _, ok := c.nodeOfRoom(room); !ok || room == c.room {
		return false
	}
	if c.roster == nil {
		c.roster = map[string]*xmpp.Element{}
	}
	c.roster[from] = el
	return true
}

// pruneRoster forgets the departures of occupants the kept state no longer
// counts: the owner has seen them go.
func (c *conference) pruneRoster(st *focalpb.ConferenceState) {
	for from, el := range c.roster {
		if el.AttrValue("type") != xmpp.PresenceUnavailable {
			continue
		}
		_, nick, _ := strings.Cut(from, "/")
		if memberOf(st, nick) == nil {
			delete(c.roster, from)
		}
	}
}

// memberOf returns st's member nick, or nil.
func memberOf(st *focalpb.ConferenceState, nick string) *focalpb.MemberState {
	for _, m := range st.GetMembers() {
		if m.Nick == nick {
			return m
		}
	}
	return nil
}
