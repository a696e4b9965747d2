package conference

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"focal/proto"
	"focal/visitors"
	"focal/xmpp"
	"focal/xmpp/session"
)

const testVisitorsComponent = "visitors." + testDomain

// withVisitorNodes configures two visitor nodes of one visitor each (so
// that the second redirect goes to the second node), on scripted wires.
func withVisitorNodes(wires map[string]*scriptedWire) func(*Config) {
	return func(cfg *Config) {
		cfg.Visitors = visitors.Config{Enabled: true, MaxParticipants: 2, MaxVisitorsPerNode: 1}
		cfg.VNodeWires = map[string]session.Wire{}
		for _, id := range []string{"v1", "v2"} {
			domain := id + "." + testDomain
			cfg.Visitors.Nodes = append(cfg.Visitors.Nodes, visitors.Node{ID: id, Host: "127.0.0.1", Port: 5222,
				Domain: domain, MUC: "conference." + domain, User: "focus@auth." + domain, Password: "p"})
			wires[id] = &scriptedWire{name: id}
			cfg.VNodeWires[id] = wires[id]
		}
	}
}

// visitorsRequest is a request from a client supporting visitors.
func (c *tconf) visitorsRequest(asVisitor bool, vnode string) *focalpb.ConferenceResponse {
	c.t.Helper()
	req := &focalpb.ConferenceRequest{Room: c.room, From: "client@" + testDomain + "/web", Vnode: vnode,
		VisitorsComponent: testVisitorsComponent,
		Properties:        []*focalpb.Property{{Name: "visitors-version", Value: "1"}}}
	if asVisitor {
		req.Properties = append(req.Properties, &focalpb.Property{Name: "visitor", Value: "true"})
	}
	c.send(req)
	return awaitRecorded[*focalpb.ConferenceResponse](c, "the answer to a visitors request", nil)
}

func responseProperty(res *focalpb.ConferenceResponse, name string) string {
	for _, p := range res.Properties {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

// The conference side of visitor nodes, on scripted wires: a visitor
// request is answered with the first node and its focus; the focus joins
// the node's visitor room on that node's connection and, once in, sends
// connect-vnode to the visitors component on the room's session; a visitor
// of that room becomes a member talked to on the node's connection and is
// counted in the focus's presence; the node being full, the next request
// goes to the second node; a made-up node is refused; the nodes are
// replicated state, and the end of the conference disconnects them.
func TestVisitorNodesOnScriptedWires(t *testing.T) {
	wires := map[string]*scriptedWire{}
	h := newHarness(t, withVisitorNodes(wires))
	room := "webinar@conference." + testDomain
	c := h.joined(room)
	c.send(&ReplicaIs{PID: c.recPID})

	res := c.visitorsRequest(true, "")
	if res.Vnode != "v1" || res.FocusJid != "focus@auth.v1."+testDomain || responseProperty(res, "visitors-supported") != "true" {
		t.Fatalf("visitor request answered %v", res)
	}
	vroom := "webinar@conference.v1." + testDomain
	wires["v1"].awaitSent(t, "the join of the visitor room", func(el *xmpp.Element) bool {
		return el.Name.Local == xmpp.KindPresence && el.AttrValue("to") == vroom+"/focus" && el.Child(xmpp.NSMUC, "x") != nil
	})
	self := focusInVisitorRoom(vroom)
	c.deliver(self)
	connect := c.wire.awaitRequest(t, "connect-vnode", func(el *xmpp.Element) bool {
		v := el.Child(xmpp.NSVisitors, "visitors")
		return isIQ(el, xmpp.IQGet, testVisitorsComponent) && v != nil && v.AttrValue("room") == room &&
			v.Child(xmpp.NSVisitors, "connect-vnode") != nil && v.Child(xmpp.NSVisitors, "connect-vnode").AttrValue("vnode") == "v1"
	})
	connect.result(nil)

	visitor := xmpp.NewPresence("", vroom+"/visitor1", "focus@auth.v1."+testDomain+"/focus", xmpp.NewElement(xmpp.NSMUCUser, "x").Append(
		xmpp.NewElement(xmpp.NSMUCUser, "item", "affiliation", xmpp.AffiliationNone, "role", xmpp.RoleVisitor, "jid", "anon@v1."+testDomain+"/x")))
	c.deliver(visitor)
	wires["v1"].awaitRequest(t, "the visitor's disco#info, on the node's connection", discoTo(vroom+"/visitor1"))
	c.wire.awaitSent(t, "visitor-count 1 in the focus's presence", func(el *xmpp.Element) bool {
		if el.Name.Local != xmpp.KindPresence || el.AttrValue("to") != room+"/focus" {
			return false
		}
		for _, p := range xmpp.ParseFocusPresence(el).Properties {
			if p.Key == xmpp.PropVisitorCount && p.Value == "1" {
				return true
			}
		}
		return false
	})

	// v1 holds its one visitor: the next goes to v2, even without asking.
	if res := c.visitorsRequest(false, ""); res.Vnode != "v2" {
		t.Errorf("request with v1 full answered %v, want v2", res)
	}
	wires["v2"].awaitSent(t, "the join of v2's visitor room", func(el *xmpp.Element) bool {
		return el.Name.Local == xmpp.KindPresence && el.AttrValue("to") == "webinar@conference.v2."+testDomain+"/focus"
	})
	if res := c.visitorsRequest(true, "v9"); res.Error == nil || res.Error.Condition != xmpp.BadRequest || res.Vnode != "" {
		t.Errorf("a made-up vnode answered %v, want bad-request", res)
	}

	r := &replicaView{}
	r.check(c, "visitors")
	nodes := r.latest.GetVisitorNodes()
	if len(nodes) != 2 || nodes[0].Node != "v1" || nodes[0].Visitors != 1 || !nodes[0].Connected || nodes[1].Node != "v2" ||
		r.latest.GetVisitorsComponent() != testVisitorsComponent {
		t.Errorf("replicated visitor nodes %v (component %q)", nodes, r.latest.GetVisitorsComponent())
	}
	if m := memberOf(r.latest, "visitor1"); m == nil || m.Vnode != "v1" {
		t.Errorf("replicated visitor member %v", m)
	}

	// The visitor leaves, the last member: the conference ends.
	c.deliver(xmpp.NewPresence(xmpp.PresenceUnavailable, vroom+"/visitor1", "focus@auth.v1."+testDomain+"/focus",
		xmpp.NewElement(xmpp.NSMUCUser, "x").Append(xmpp.NewElement(xmpp.NSMUCUser, "item", "affiliation", xmpp.AffiliationNone, "role", xmpp.RoleNone))))
	for _, id := range []string{"v1", "v2"} {
		c.wire.awaitSent(t, "disconnect-vnode "+id, func(el *xmpp.Element) bool {
			v := el.Child(xmpp.NSVisitors, "visitors")
			return v != nil && v.Child(xmpp.NSVisitors, "disconnect-vnode") != nil && v.Child(xmpp.NSVisitors, "disconnect-vnode").AttrValue("vnode") == id
		})
	}
}

// unsignedToken is a JWT with the given context.user.id, unsigned: the
// focus reads tokens without checking them.
func unsignedToken(userID string) string {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	return enc(`{"alg":"none"}`) + "." + enc(`{"context":{"user":{"id":"`+userID+`"}}}`) + ".sig"
}

// The main room's allow-lists (room metadata participants): a listed user
// stays in the main room even once visitor rooms exist; anybody else, or
// a token that cannot be read, is sent to a visitor node.
func TestVisitorAllowListsFromRoomMetadata(t *testing.T) {
	wires := map[string]*scriptedWire{}
	h := newHarness(t, withVisitorNodes(wires))
	c := h.joined("allowlist@conference." + testDomain)
	md := `{"type":"room_metadata","metadata":{"participants":["u1"],"moderators":["m1"]}}`
	c.deliver(xmpp.NewElement("", xmpp.KindMessage, "from", "metadata."+testDomain, "to", testFocusAddr).
		Append(xmpp.NewElement(xmpp.NSJitMeet, "json-message", "room", c.room).WithText(md)))
	ask := func(token string) *focalpb.ConferenceResponse {
		t.Helper()
		c.send(&focalpb.ConferenceRequest{Room: c.room, Token: token, VisitorsComponent: testVisitorsComponent,
			Properties: []*focalpb.Property{{Name: "visitors-version", Value: "1"}}})
		return awaitRecorded[*focalpb.ConferenceResponse](c, "an answer", nil)
	}
	if res := ask(unsignedToken("u2")); res.Vnode != "v1" {
		t.Errorf("a user not on the participants list: %v, want v1", res)
	}
	for _, user := range []string{"u1", "m1"} {
		if res := ask(unsignedToken(user)); res.Vnode != "" {
			t.Errorf("listed user %s with visitor rooms in use: %v, want the main room", user, res)
		}
	}
	if res := ask("not.a-token"); res.Vnode == "" {
		t.Errorf("an unreadable token: %v, want a visitor node", res)
	}
}

// focusInVisitorRoom is v1's visitor room vroom telling the focus it is in
// (status 110), as owner.
func focusInVisitorRoom(vroom string) *xmpp.Element {
	return xmpp.NewPresence("", vroom+"/focus", "focus@auth.v1."+testDomain+"/focus", xmpp.NewElement(xmpp.NSMUCUser, "x").Append(
		xmpp.NewElement(xmpp.NSMUCUser, "item", "affiliation", xmpp.AffiliationOwner, "role", xmpp.RoleModerator),
		xmpp.NewElement(xmpp.NSMUCUser, "status", "code", "110")))
}

// visitorPresence is a presence from node id's visitor room: nick joining
// as a visitor, or leaving.
func visitorPresence(room, id, nick string, leaving bool) *xmpp.Element {
	local, _, _ := strings.Cut(room, "@")
	typ, role := "", xmpp.RoleVisitor
	if leaving {
		typ, role = xmpp.PresenceUnavailable, xmpp.RoleNone
	}
	return xmpp.NewPresence(typ, local+"@conference."+id+"."+testDomain+"/"+nick, "focus@auth."+id+"."+testDomain+"/focus",
		xmpp.NewElement(xmpp.NSMUCUser, "x").Append(
			xmpp.NewElement(xmpp.NSMUCUser, "item", "affiliation", xmpp.AffiliationNone, "role", role, "jid", nick+"@"+id+"."+testDomain+"/x")))
}

// A standby sits in the visitor rooms of the state it keeps, as another
// session of the focus occupant, once the owner has connected the node
// (so the owner joined first); its presence there carries what the
// owner's does. What it hears from the room while standing by is what it
// acts on when it drives: a visitor who came during the takeover gets a
// session, one who left is gone.
func TestAStandbySitsInTheVisitorRoomsOfItsState(t *testing.T) {
	wires := map[string]*scriptedWire{}
	h := newHarness(t, withVisitorNodes(wires))
	room := "webinar@conference." + testDomain
	vroom := "webinar@conference.v1." + testDomain
	c := h.joined(room)
	c.send(&ReplicaIs{PID: c.recPID})
	if res := c.visitorsRequest(true, ""); res.Vnode != "v1" {
		t.Fatalf("visitor request answered %v", res)
	}
	r := &replicaView{}
	r.check(c, "v1 in use, not connected")
	unconnected := r.latest

	// The standby's own connections to the nodes.
	standbyWires := map[string]*scriptedWire{}
	s := h.standby(room, unconnected, withVisitorNodes(standbyWires))
	s.barrier()
	if sent := standbyWires["v1"].q.pending(); len(sent) != 0 {
		t.Fatalf("a standby joined a visitor room the owner has not connected: %v", sent)
	}

	c.deliver(focusInVisitorRoom(vroom))
	c.wire.awaitRequest(t, "connect-vnode", func(el *xmpp.Element) bool { return el.Child(xmpp.NSVisitors, "visitors") != nil }).result(nil)
	c.deliver(visitorPresence(room, "v1", "visitor1", false))
	r.check(c, "v1 connected, visitor1 in")
	s.send(r.latest)
	seat := standbyWires["v1"].awaitSent(t, "the standby's seat in the visitor room", isFocusPresence(vroom))
	count := ""
	for _, p := range xmpp.ParseFocusPresence(seat).Properties {
		if p.Key == xmpp.PropVisitorCount {
			count = p.Value
		}
	}
	if count != "1" {
		t.Errorf("the seat's presence carries visitor-count %q, want the owner's 1", count)
	}

	// While the owner dies: visitor1 leaves, visitor2 comes; the standby
	// hears it on its seat, after more of the room's chatter (presence
	// updates) than it buffers of other stanzas: the latest per occupant
	// is what it keeps.
	for range maxBuffered + 10 {
		s.deliver(visitorPresence(room, "v1", "visitor1", false))
	}
	s.deliver(visitorPresence(room, "v1", "visitor1", true))
	s.deliver(visitorPresence(room, "v1", "visitor2", false))
	s.promote(true)
	standbyWires["v1"].awaitRequest(t, "visitor2's disco#info, on the standby's connection", discoTo(vroom+"/visitor2"))
	snap := s.snapshot()
	if _, ok := snap.member("visitor1"); ok {
		t.Errorf("visitor1 left while the conference moved, still a member: %+v", snap.Participants)
	}
	if _, ok := snap.member("visitor2"); !ok {
		t.Errorf("visitor2 came while the conference moved, not a member: %+v", snap.Participants)
	}
}

// connectedVisitorRoom makes v1 the conference's visitor node, the focus
// in its room and the node connected, with visitor1 in; it returns the
// replica's view.
func connectedVisitorRoom(t *testing.T, c *tconf) *replicaView {
	t.Helper()
	vroom := "webinar@conference.v1." + testDomain
	if res := c.visitorsRequest(true, ""); res.Vnode != "v1" {
		t.Fatalf("visitor request answered %v", res)
	}
	c.deliver(focusInVisitorRoom(vroom))
	c.wire.awaitRequest(t, "connect-vnode", func(el *xmpp.Element) bool { return el.Child(xmpp.NSVisitors, "visitors") != nil }).result(nil)
	c.deliver(visitorPresence(c.room, "v1", "visitor1", false))
	r := &replicaView{}
	r.check(c, "v1 connected, visitor1 in")
	return r
}

func isLeave(room string) func(*xmpp.Element) bool {
	return func(el *xmpp.Element) bool {
		return el.Name.Local == xmpp.KindPresence && el.AttrValue("to") == room+"/focus" && el.AttrValue("type") == xmpp.PresenceUnavailable
	}
}

// An owner that hands its conference over to a live node leaves the
// visitor rooms, but only SeatLeaveDelay later, when the next owner is
// in them: its session would otherwise stay the occupant's primary, the
// one visitors' requests reach, on a node that no longer drives the
// conference. The next owner's state tells standbys to sit only after
// that (seats_from), so that Prosody is left with the new owner's session
// alone when the old one goes.
func TestAHandedOverOwnerLeavesItsVisitorRoomsAfterTheNextIsIn(t *testing.T) {
	wires := map[string]*scriptedWire{}
	h := newHarness(t, withVisitorNodes(wires), func(c *Config) { c.Node = "node1"; c.SeatLeaveDelay = 300 * time.Millisecond })
	room := "webinar@conference." + testDomain
	vroom := "webinar@conference.v1." + testDomain
	c := h.joined(room)
	c.send(&ReplicaIs{PID: c.recPID})
	connectedVisitorRoom(t, c)

	c.send(&HandOver{To: c.recPID, Node: "node2"})
	final := awaitRecorded(c, "the final state", func(st *focalpb.ConferenceState) bool { return st.Final })
	handedAt := time.Now()
	c.awaitStopped()
	wires["v1"].awaitSent(t, "the old owner's leave of the visitor room", isLeave(vroom))
	if waited := time.Since(handedAt); waited < h.cfg.SeatLeaveDelay/2 {
		t.Errorf("the old owner left the visitor room %v after the handover, before the next owner could be in", waited)
	}

	// The next owner, promoted from the final state, sets seats_from: its
	// standby does not sit before then.
	next := h.standby(room, final, withVisitorNodes(map[string]*scriptedWire{}))
	next.promote(true)
	next.send(&ReplicaIs{PID: next.recPID})
	st := awaitRecorded(next, "the next owner's state", func(st *focalpb.ConferenceState) bool { return st.Owner == "node2" })
	if from := time.UnixMilli(st.GetSeatsFromUnixMs()); time.Until(from) < h.cfg.SeatLeaveDelay {
		t.Errorf("seats_from %v after a handover, want at least SeatLeaveDelay ahead", time.Until(from))
	}
	standbyWires := map[string]*scriptedWire{}
	s := h.standby(room, st, withVisitorNodes(standbyWires), func(c *Config) { c.Leaves = NewLeaves() })
	s.barrier()
	if sent := standbyWires["v1"].q.pending(); len(sent) != 0 {
		t.Fatalf("the standby sat in the visitor room before seats_from: %v", sent)
	}
	standbyWires["v1"].awaitSent(t, "the standby's seat, once seats_from has come", isFocusPresence(vroom))
	if early := time.Until(time.UnixMilli(st.GetSeatsFromUnixMs())); early > 0 {
		t.Errorf("the standby sat %v before seats_from", early)
	}
}

// A node's delayed leave of a visitor room is dropped when one of its
// conferences joins the room again before it is due (the conference
// handed back): the node's one session stays.
func TestLeavesCancelledByAJoinOfTheSameRoom(t *testing.T) {
	w := &scriptedWire{name: "v1"}
	l := NewLeaves()
	l.Later(w, "a@v1", "focus", 5*time.Millisecond)
	l.Cancel("a@v1")
	l.Later(w, "b@v1", "focus", time.Hour)
	l.Later(w, "b@v1", "focus", 30*time.Millisecond) // replaces the first
	// Due after a's would have been: had a's not been cancelled, it
	// would be on the wire before b's.
	w.awaitSent(t, "the leave of b", isLeave("b@v1"))
	for _, it := range w.q.pending() {
		t.Errorf("sent after the cancel: %s", it)
	}
}

// The owner's connection to a visitor node comes back (a new session,
// which joins the visitor room after the standby's): the standby's
// session became the occupant's primary when the owner's dropped, so the
// owner's state moves seats_from on, and the standby leaves the room at
// once and sits again only then.
func TestTheStandbyMakesWayWhenTheOwnersConnectionToTheNodeComesBack(t *testing.T) {
	wires := map[string]*scriptedWire{}
	h := newHarness(t, withVisitorNodes(wires), func(c *Config) { c.Node = "node1"; c.SeatLeaveDelay = 200 * time.Millisecond })
	room := "webinar@conference." + testDomain
	vroom := "webinar@conference.v1." + testDomain
	c := h.joined(room)
	c.send(&ReplicaIs{PID: c.recPID})
	r := connectedVisitorRoom(t, c)
	standbyWires := map[string]*scriptedWire{}
	s := h.standby(room, r.latest, withVisitorNodes(standbyWires), func(c *Config) { c.Leaves = NewLeaves() })
	standbyWires["v1"].awaitSent(t, "the standby's seat", isFocusPresence(vroom))

	c.send(&VNodeUp{Node: "v1"})
	wires["v1"].awaitSent(t, "the owner's join again", isFocusPresence(vroom))
	c.deliver(focusInVisitorRoom(vroom))
	c.wire.awaitRequest(t, "connect-vnode again", func(el *xmpp.Element) bool { return el.Child(xmpp.NSVisitors, "visitors") != nil }).result(nil)
	r.check(c, "after the owner's connection came back")
	if time.UnixMilli(r.latest.GetSeatsFromUnixMs()).Before(time.Now()) {
		t.Fatalf("seats_from %v, want it moved on", time.UnixMilli(r.latest.GetSeatsFromUnixMs()))
	}
	s.send(r.latest)
	standbyWires["v1"].awaitSent(t, "the standby's leave", isLeave(vroom))
	standbyWires["v1"].awaitSent(t, "the standby's seat again, after seats_from", isFocusPresence(vroom))
	if early := time.Until(time.UnixMilli(r.latest.GetSeatsFromUnixMs())); early > 0 {
		t.Errorf("the standby sat again %v before seats_from", early)
	}
}
