package conference

import (
	"strings"
	"sync"
	"time"

	"focal/proto"
	"focal/xmpp"
	"focal/xmpp/session"
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

// seatsAfterHandover is how long after a handover from a live owner the
// standbys wait before they sit in the visitor rooms: until the old
// owner's session has left (Config.SeatLeaveDelay), so that the new
// owner's is the only one Prosody can make primary
// (ConferenceState.seats_from).
func (c *conference) seatsAfterHandover() time.Duration { return 2 * c.cfg.SeatLeaveDelay }

// seatDue: the time the state gave for standbys to sit has come.
type seatDue struct{ at int64 }

// seatStandby joins the visitor rooms of the state the standby keeps that
// it is not in yet, if it may by now, or arms a timer for when it may.
func (c *conference) seatStandby() {
	if !c.standby || c.latest == nil {
		return
	}
	if from := c.latest.SeatsFromUnixMs; time.Now().UnixMilli() < from {
		if c.seatT == nil || c.seatAt != from {
			if c.seatT != nil {
				c.seatT.Stop()
			}
			c.seatAt = from
			c.seatT = c.after(time.Until(time.UnixMilli(from)), seatDue{at: from})
		}
		return
	}
	for _, v := range c.latest.VisitorNodes {
		if c.seats[v.Node] || !v.Connected {
			// Connected: the owner is in the room (it connects the node
			// once in), so it joined first and is the primary session.
			continue
		}
		p := c.presenceOf(len(c.latest.Bridges), false, c.latest.VisitorNodes)
		if err := c.sendVisitorRoomJoin(v.Node, p); err != nil {
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

func (c *conference) onSeatDue(msg seatDue) {
	if msg.at != c.seatAt {
		return
	}
	c.seatT = nil
	c.seatStandby()
}

// onSeatsMoved: the state's seats_from moved past the one the standby
// sat under. The owner's session is not the occupant's primary (a
// handover from a live owner, whose session leaves later; the owner's
// connection to a node came back, and joined after the standby's): the
// standby gets out of the visitor rooms until seats_from, so that the
// owner's session is the one Prosody makes primary.
func (c *conference) onSeatsMoved() {
	if len(c.seats) > 0 && time.Now().UnixMilli() < c.latest.SeatsFromUnixMs {
		c.leaveSeats(0)
	}
}

// leaveSeats takes the standby's sessions out of the visitor rooms, after
// delay.
func (c *conference) leaveSeats(delay time.Duration) {
	for id := range c.seats {
		c.leaveVisitorRoom(id, delay)
	}
	c.seats = nil
}

// leaveVisitorRoom takes this node's session out of node id's visitor
// room, after delay unless a conference of the node joins it again
// meanwhile (Leaves): the wires and Leaves outlive the actor.
func (c *conference) leaveVisitorRoom(id string, delay time.Duration) {
	n, ok := c.cfg.Visitors.Node(id)
	w := c.vnodeWire(id)
	if !ok || w == nil {
		return
	}
	room := c.visitorRoomOf(n)
	if delay <= 0 {
		c.cfg.Leaves.Cancel(room)
		_ = w.Send(xmpp.LeavePresence(room, c.cfg.Nick))
		return
	}
	c.cfg.Leaves.Later(w, room, c.cfg.Nick, delay)
}

// Leaves are a node's delayed leaves of visitor rooms, shared by its
// conferences: a conference of the node that joins a room again (the
// conference handed back, a new standby) cancels the leave an earlier one
// scheduled, which would otherwise take the node's one session out from
// under it. Nil leaves at once on Later.
type Leaves struct {
	mu      sync.Mutex
	pending map[string]*time.Timer // by visitor room
}

// NewLeaves returns a node's Leaves.
func NewLeaves() *Leaves { return &Leaves{pending: map[string]*time.Timer{}} }

// Later sends w a leave of room as nick after d, unless Cancel(room) comes
// first.
func (l *Leaves) Later(w session.Wire, room, nick string, d time.Duration) {
	if l == nil {
		_ = w.Send(xmpp.LeavePresence(room, nick))
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if t := l.pending[room]; t != nil {
		t.Stop()
	}
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.pending[room] != t {
			return // cancelled or replaced
		}
		delete(l.pending, room)
		// Sent under the lock: a Cancel that returns has either stopped
		// this or seen the leave written first.
		_ = w.Send(xmpp.LeavePresence(room, nick))
	})
	l.pending[room] = t
}

// Cancel drops the leave of room pending, if any: the node stays in it.
func (l *Leaves) Cancel(room string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if t := l.pending[room]; t != nil {
		t.Stop()
		delete(l.pending, room)
	}
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
