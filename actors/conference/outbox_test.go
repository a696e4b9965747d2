package conference

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"focal/media/sources"
	"focal/proto"
	"focal/xmpp"
	"focal/xmpp/session"
)

// What a driven conference sends waits for its replica, and what a new
// owner is given twice it does once (outbox.go).

// jingleIQ is an IQ set from nick to the focus carrying j.
func (c *tconf) jingleIQ(nick string, j *xmpp.Jingle) *xmpp.Element {
	c.t.Helper()
	payload, err := xmpp.ElementOf(j)
	if err != nil {
		c.t.Fatal(err)
	}
	return xmpp.NewIQ(xmpp.IQSet, c.occupant(nick), testFocusAddr, xmpp.NewID(), payload)
}

// deliver hands the conference a stanza from its room, as the session does.
func (c *tconf) deliver(el *xmpp.Element) { c.send(&Stanza{Room: c.room, El: el}) }

// settle checks the replica's state once what a participant's request
// set off has run its course: the participant's report, the fan-out to
// the others, and theirs (a barrier reaches one level of children).
func (c *tconf) settle(r *replicaView, step string) {
	c.t.Helper()
	r.barrier(c, step)
	r.check(c, step)
}

var screenShare = sources.Set{Sources: []sources.Source{{SSRC: 1003, Media: sources.Video, Name: "alice-v1", MSID: "alice-video-2 v2", VideoType: sources.VideoDesktop}}}

// Until the replica acknowledges the state a source-add led to, neither
// its answer nor the source-add to the other participant nor the bridge
// update goes out (an owner cut off from its replica acts on nothing);
// once it does, each goes out once.
func TestNothingGoesOutBeforeTheReplicaHasIt(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Node = "node1" })
	c, r, sids := h.owned("room1@conference." + testDomain)

	c.rec.withholdAcks()
	iq := c.jingleIQ("alice", &xmpp.Jingle{Action: xmpp.JingleSourceAdd, SID: sids["alice"], Contents: screenShare.JingleContents("")})
	c.deliver(iq)
	c.settle(r, "alice's source-add handled")
	c.nothingMore("no acknowledgement from the replica")
	if len(r.latest.Outbox) != 2 {
		t.Errorf("the replica's outbox holds %d stanzas, want the answer and bob's source-add: %v", len(r.latest.Outbox), r.latest.Outbox)
	}
	if m := memberOf(r.latest, "alice"); !m.GetBridgeBehind() || !slices.Contains(m.GetHandled(), iq.AttrValue("id")) {
		t.Errorf("the replica's alice: handled %v, bridge behind %v", m.GetHandled(), m.GetBridgeBehind())
	}

	c.rec.releaseAcks(h.root)
	c.awaitResult(iq.AttrValue("id"), "alice's source-add")
	add := c.wire.awaitRequest(t, "source-add to bob", jingleTo(c.occupant("bob"), xmpp.JingleSourceAdd))
	add.result(nil)
	c.bridgeWire.awaitRequest(t, "alice's sources to the bridge", colibriTo(jvb1, updatesEndpoint("alice"))).result(nil)
	c.nothingMore("acknowledged")
	r.check(c, "sent")
	if m := memberOf(r.latest, "alice"); len(r.latest.Outbox) != 0 || m.GetBridgeBehind() {
		t.Errorf("after sending: outbox %v, alice's bridge behind %v", r.latest.Outbox, m.GetBridgeBehind())
	}
}

// A request the server delivers again (it moved the session before the
// focus acknowledged it) is not acted on again: no second answer, no
// second source-add to the other participant, nothing to the bridge.
func TestARequestDeliveredAgainIsNotActedOnTwice(t *testing.T) {
	h := newHarness(t)
	c := h.joined("room1@conference." + testDomain)
	sids := twoInCall(t, c)

	iq := c.jingleIQ("alice", &xmpp.Jingle{Action: xmpp.JingleSourceAdd, SID: sids["alice"], Contents: screenShare.JingleContents("")})
	c.deliver(iq)
	c.awaitResult(iq.AttrValue("id"), "alice's source-add")
	c.wire.awaitRequest(t, "source-add to bob", jingleTo(c.occupant("bob"), xmpp.JingleSourceAdd)).result(nil)
	c.bridgeWire.awaitRequest(t, "alice's sources to the bridge", colibriTo(jvb1, updatesEndpoint("alice"))).result(nil)
	c.nothingMore("the source-add handled")

	c.deliver(iq.Clone())
	c.nothingMore("the same source-add delivered again")

	// A new request with the same content is a new request: refused, as
	// the source is there already.
	again := c.jingleIQ("alice", &xmpp.Jingle{Action: xmpp.JingleSourceAdd, SID: sids["alice"], Contents: screenShare.JingleContents("")})
	c.deliver(again)
	if cond := c.awaitError(again.AttrValue("id"), "a second source-add of the same source"); cond != xmpp.BadRequest {
		t.Errorf("a second source-add of the same source: %s, want bad-request", cond)
	}
}

// The owner's replica had the state a source-add led to, but not its
// acknowledgement back (a one-way cut): the new owner sends what was
// waiting, once, and does not act on the request when the server
// delivers it again; the bridge gets alice's sources from the new owner.
func TestTheNewOwnerSendsWhatTheOldOneHeldBack(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Node = "node1" })
	room := "room1@conference." + testDomain
	owner, r, sids := h.owned(room)

	owner.rec.withholdAcks()
	iq := owner.jingleIQ("alice", &xmpp.Jingle{Action: xmpp.JingleSourceAdd, SID: sids["alice"], Contents: screenShare.JingleContents("")})
	owner.deliver(iq)
	owner.settle(r, "alice's source-add handled")
	owner.nothingMore("no acknowledgement from the replica")

	s := h.standby(room, r.latest)
	s.promote(true)
	s.awaitResult(iq.AttrValue("id"), "alice's source-add, from the new owner")
	add := s.wire.awaitRequest(t, "source-add to bob, from the new owner", jingleTo(s.occupant("bob"), xmpp.JingleSourceAdd))
	add.result(nil)
	if got := ssrcsIn(jingleOf(add.el))[s.occupant("alice")]; !slices.Equal(got, []int64{1003}) {
		t.Errorf("source-add to bob carries %v, want alice's 1003", got)
	}
	up := s.bridgeWire.awaitRequest(t, "alice's sources to the bridge, from the new owner", colibriTo(jvb1, updatesEndpoint("alice")))
	up.result(nil)
	s.deliver(iq.Clone())
	s.nothingMore("the source-add delivered again to the new owner")
	if snap := s.snapshot(); snap.Standby {
		t.Fatalf("the new owner still stands by")
	}
	owner.nothingMore("the old owner, never acknowledged")
}

// An acknowledgement that comes back later than StaleAck (this process
// stalled, say, while the cluster moved the conference) releases only
// what leaves on the shard session, which a node that lost the session
// cannot write on: with the bridge's own JID known, everything. What
// leaves on the node's own connection (Colibri2 to a bridge known only as
// a brewery occupant) waits: the state is sent again, and only its
// acknowledgement, fresh, lets it go.
func TestALateAcknowledgementReleasesOnlyWhatTheSessionFences(t *testing.T) {
	const staleAck = 30 * time.Millisecond
	for _, addressed := range []bool{true, false} {
		t.Run(fmt.Sprintf("bridge address known %v", addressed), func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.Node = "node1"; c.StaleAck = staleAck })
			if addressed {
				h.addresses = map[string]string{jvb1: jvb1Address}
			}
			c, r, sids := h.owned("room1@conference." + testDomain)

			c.rec.withholdAcks()
			iq := c.jingleIQ("alice", &xmpp.Jingle{Action: xmpp.JingleSourceAdd, SID: sids["alice"], Contents: screenShare.JingleContents("")})
			c.deliver(iq)
			c.settle(r, "alice's source-add handled")
			// The acknowledgements are older than StaleAck when they
			// arrive: the time passing is what the test is about. (The
			// state goes again meanwhile, its acknowledgement overdue:
			// those of the copies sent again stay kept back.)
			time.Sleep(4 * staleAck)
			c.rec.releaseHeldUpTo(h.root, r.version)
			c.awaitResult(iq.AttrValue("id"), "alice's source-add, on a late acknowledgement")
			wire, to := c.bridgeOn(jvb1)
			if addressed {
				wire.awaitRequest(t, "alice's sources to the bridge's own JID, on a late acknowledgement", colibriTo(to, updatesEndpoint("alice"))).result(nil)
				c.wire.awaitRequest(t, "source-add to bob, on a late acknowledgement", jingleTo(c.occupant("bob"), xmpp.JingleSourceAdd)).result(nil)
				return
			}
			// The outbox goes in order: what follows the bridge's update
			// waits with it.
			awaitRecorded(c, "the state sent again", func(st *focalpb.ConferenceState) bool { return st.Version > r.version })
			c.barrier()
			for _, it := range wire.q.pending() {
				t.Errorf("sent to the bridge's occupant JID on a late acknowledgement: %s", it.el)
			}
			c.rec.releaseAcks(h.root) // a fresh acknowledgement
			wire.awaitRequest(t, "alice's sources to the bridge, once acknowledged in time", colibriTo(to, updatesEndpoint("alice"))).result(nil)
			c.wire.awaitRequest(t, "source-add to bob, once acknowledged in time", jingleTo(c.occupant("bob"), xmpp.JingleSourceAdd)).result(nil)
		})
	}
}

// A state lost on its way to the replica (the actor link drops what it
// cannot deliver while it reconnects) is sent again once its
// acknowledgement is StaleAck overdue: what waits in the outbox for it
// goes out though nothing changes in the conference after (a kept
// conference's answers waited so until its handover, which lost them).
func TestAStateNeverAcknowledgedIsSentAgain(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Node = "node1"; c.StaleAck = 30 * time.Millisecond })
	c, r, sids := h.owned("room1@conference." + testDomain)

	c.rec.withholdAcks()
	iq := c.jingleIQ("alice", &xmpp.Jingle{Action: xmpp.JingleSourceAdd, SID: sids["alice"], Contents: screenShare.JingleContents("")})
	c.deliver(iq)
	c.settle(r, "alice's source-add handled")
	c.rec.loseHeld()
	resent := awaitRecorded(c, "the state sent again", func(st *focalpb.ConferenceState) bool { return st.Version > r.version })
	if len(resent.Outbox) != 2 {
		t.Errorf("the state sent again holds %d stanzas, want 2", len(resent.Outbox))
	}
	c.awaitResult(iq.AttrValue("id"), "alice's source-add, once the state sent again is acknowledged")
	c.wire.awaitRequest(t, "source-add to bob", jingleTo(c.occupant("bob"), xmpp.JingleSourceAdd)).result(nil)
}

// The window a released stanza used to leave: the owner sent it, and was
// gone before its removal from the outbox reached the replica. Now a
// stanza is queued on the session held, at a place in the server's count
// (its Mark) that goes to the replica with the state, and written once
// the replica has acknowledged it; the new owner, which resumes the
// session and so learns that count, sends again only what the server
// lacks.
func TestTheNewOwnerSendsAgainOnlyWhatTheServerLacks(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Node = "node1" })
	room := "room1@conference." + testDomain
	owner, r, sids := h.owned(room)
	owner.wire.count("sm-1", session.Mark{})

	owner.rec.withholdAcks()
	iq := owner.jingleIQ("alice", &xmpp.Jingle{Action: xmpp.JingleSourceAdd, SID: sids["alice"], Contents: screenShare.JingleContents("")})
	owner.deliver(iq)
	owner.settle(r, "alice's source-add handled")
	marked := proto.Clone(r.latest).(*focalpb.ConferenceState)
	if len(marked.Outbox) != 2 {
		t.Fatalf("the replica's outbox holds %d entries, want the answer and bob's source-add: %v", len(marked.Outbox), marked.Outbox)
	}
	for i, o := range marked.Outbox {
		if o.Session != "sm-1" || o.Pos != uint32(i+1) {
			t.Fatalf("outbox entry %d at %s:%d, want sm-1:%d", i, o.Session, o.Pos, i+1)
		}
	}
	owner.nothingMore("not acknowledged")
	if n := owner.wire.stillHeld(); n != 2 {
		t.Fatalf("%d stanzas held on the session, want 2", n)
	}

	// Acknowledged: the session writes them.
	owner.rec.releaseAcks(h.root)
	owner.bridgeWire.awaitRequest(t, "alice's sources to the bridge", colibriTo(jvb1, updatesEndpoint("alice"))).result(nil)
	owner.awaitResult(iq.AttrValue("id"), "alice's source-add")
	owner.wire.awaitRequest(t, "source-add to bob", jingleTo(owner.occupant("bob"), xmpp.JingleSourceAdd)).result(nil)
	owner.nothingMore("sent")

	// The owner dies before the replica learns anything more. The next
	// owner resumes the session; what it does depends on the server's
	// count then.
	answer := func(o *focalpb.Outgoing) bool {
		return strings.Contains(o.Xml, `type="result"`) || strings.Contains(o.Xml, "type='result'")
	}
	if !answer(marked.Outbox[0]) || answer(marked.Outbox[1]) {
		t.Fatalf("outbox entries not the answer then the source-add: %v", marked.Outbox)
	}
	// The state the new owner has was sent before the bridge update went:
	// it sends alice's sources to the bridge again, which changes nothing
	// there.
	bridgeAgain := func(s *tconf) {
		s.bridgeWire.awaitRequest(t, "alice's sources to the bridge, again", colibriTo(jvb1, updatesEndpoint("alice"))).result(nil)
	}
	t.Run("the server has both", func(t *testing.T) {
		s := h.standby(room, proto.Clone(marked).(*focalpb.ConferenceState))
		s.wire.count("sm-1", session.Mark{Session: "sm-1", Pos: 2})
		s.send(&Promote{Wire: s.wire, Addr: testFocusAddr, Session: "sm-1", Up: true, Seated: true})
		bridgeAgain(s)
		s.deliver(iq.Clone())
		s.nothingMore("the new owner, whose server has both stanzas")
	})
	t.Run("the server has the answer only", func(t *testing.T) {
		s := h.standby(room, proto.Clone(marked).(*focalpb.ConferenceState))
		s.wire.count("sm-1", session.Mark{Session: "sm-1", Pos: 1})
		s.send(&Promote{Wire: s.wire, Addr: testFocusAddr, Session: "sm-1", Up: true, Seated: true})
		bridgeAgain(s)
		s.wire.awaitRequest(t, "source-add to bob, again", jingleTo(s.occupant("bob"), xmpp.JingleSourceAdd)).result(nil)
		s.deliver(iq.Clone())
		s.nothingMore("the new owner, whose server lacked the source-add")
	})
	t.Run("another session", func(t *testing.T) {
		// The resumption failed and the new owner is on a new session: the
		// server's count says nothing of the old one's stanzas.
		s := h.standby(room, proto.Clone(marked).(*focalpb.ConferenceState))
		s.promote(false)
		s.awaitResult(iq.AttrValue("id"), "alice's source-add, again")
	})
}

// Once the server has acknowledged a stanza, its entry leaves the outbox,
// and the replica learns so without waiting for another change.
func TestAStanzaTheServerAcknowledgedLeavesTheOutbox(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Node = "node1" })
	c, r, sids := h.owned("room1@conference." + testDomain)
	c.wire.count("sm-1", session.Mark{})
	iq := c.jingleIQ("alice", &xmpp.Jingle{Action: xmpp.JingleSourceAdd, SID: sids["alice"], Contents: screenShare.JingleContents("")})
	c.deliver(iq)
	c.awaitResult(iq.AttrValue("id"), "alice's source-add")
	c.wire.awaitRequest(t, "source-add to bob", jingleTo(c.occupant("bob"), xmpp.JingleSourceAdd)).result(nil)
	c.bridgeWire.awaitRequest(t, "alice's sources to the bridge", colibriTo(jvb1, updatesEndpoint("alice"))).result(nil)
	r.barrier(c, "sent")
	if len(r.latest.Outbox) != 2 {
		t.Fatalf("before the server's acknowledgement the replica's outbox holds %v", r.latest.Outbox)
	}
	c.wire.mu.Lock()
	c.wire.acked = 1
	c.wire.mu.Unlock()
	r.barrier(c, "the answer acknowledged by the server")
	if len(r.latest.Outbox) != 1 || r.latest.Outbox[0].Pos != 2 {
		t.Fatalf("after the server acknowledged the answer the replica's outbox holds %v", r.latest.Outbox)
	}
	c.nothingMore("acknowledged by the server")
}
