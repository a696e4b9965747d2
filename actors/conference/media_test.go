package conference

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"focal/actors/bridge"
	"focal/media/sources"
	"focal/xmpp"
)

// The bridge's feedback sources in ../../xmpp/testdata/colibri2/conference-modified.xml.
var feedbackSSRCs = []int64{1406813932, 3325153418}

// Once two participants are in the room and ready (their disco#info
// answered), each in turn gets an endpoint on the selected bridge (the
// first creating the conference there) and a session-initiate from the
// focus with the bridge's transport, its feedback sources and
// <bridge-session/>.
func TestInviteGivesEachReadyParticipantAnEndpointAndASession(t *testing.T) {
	h := newHarness(t)
	c := h.joined("room1@conference." + testDomain)

	c.joins("alice", "")
	c.ready("alice")
	c.barrier()
	h.syncBrewery()
	if early := h.brewery.q.pending(); len(early) != 0 {
		t.Fatalf("a Select with one participant in the room: %v", early)
	}

	c.joins("bob", "")
	c.ready("bob")
	if r := c.answerSelect(jvb1); len(r.sel.Bridges) != 0 {
		t.Fatalf("first Select %v, want no bridges", r)
	}
	mod := c.allocate("alice", jvb1)
	s := c.snapshot()
	if !mod.Create || mod.Name != c.room || mod.MeetingID != s.MeetingID {
		t.Errorf("first allocation: create %v name %q meeting %q; want the conference created as %q, meeting %q",
			mod.Create, mod.Name, mod.MeetingID, c.room, s.MeetingID)
	}
	ep := mod.Endpoint("alice")
	if ep.Transport == nil || !ep.Transport.ICEControlling || ep.Transport.SCTP == nil || len(ep.Media) != 2 {
		t.Errorf("alice's endpoint: %+v", ep)
	}
	offer := c.awaitInitiate("alice")
	if offer.Initiator != testFocusAddr || offer.SID == "" {
		t.Errorf("offer from %q with sid %q", offer.Initiator, offer.SID)
	}
	if offer.BridgeSession == nil || len(s.Bridges) != 1 || offer.BridgeSession.ID != s.Bridges[0].Session {
		t.Errorf("offer's bridge-session %+v, snapshot's bridges %+v", offer.BridgeSession, s.Bridges)
	}
	names := []string{}
	for _, ct := range offer.Contents {
		names = append(names, ct.Name)
		if ct.Transport == nil || ct.Transport.Ufrag != "4b2j81hfnu4c4f" {
			t.Errorf("content %s without the bridge's transport: %+v", ct.Name, ct.Transport)
		}
	}
	if !slices.Equal(names, []string{"audio", "video", "data"}) {
		t.Errorf("offer's contents %v", names)
	}
	if got := ssrcsIn(offer)[sources.OwnerBridge]; !slices.Equal(got, feedbackSSRCs) {
		t.Errorf("offer's feedback sources %v, want %v", got, feedbackSSRCs)
	}

	if r := c.answerSelect(jvb1); len(r.sel.Bridges) != 1 || r.sel.Bridges[0].JID != jvb1 || r.sel.Bridges[0].Participants != 1 {
		t.Fatalf("second Select %v, want [jvb1(1)]", r)
	}
	if mod := c.allocate("bob", jvb1); mod.Create {
		t.Errorf("the second allocation creates the conference again")
	}
	bobOffer := c.awaitInitiate("bob")
	if bobOffer.BridgeSession == nil || bobOffer.BridgeSession.ID != offer.BridgeSession.ID || bobOffer.SID == offer.SID {
		t.Errorf("bob's offer: bridge-session %+v sid %q", bobOffer.BridgeSession, bobOffer.SID)
	}

	c.barrier() // the participants' reports of their sessions are in
	s = c.snapshot()
	for nick, sid := range map[string]string{"alice": offer.SID, "bob": bobOffer.SID} {
		if m, _ := s.member(nick); m.Bridge != jvb1 || m.JingleSID != sid || m.JingleState != "pending" {
			t.Errorf("%s in the snapshot: %+v", nick, m)
		}
	}
	if len(s.Bridges) != 1 || s.Bridges[0].Endpoints != 2 {
		t.Errorf("snapshot's bridges %+v", s.Bridges)
	}
}

// goldenIQ reads an IQ of xmpp/testdata with replacements old, new, ….
func goldenIQ(t *testing.T, name string, replace ...string) *xmpp.Element {
	t.Helper()
	data, err := os.ReadFile("../../xmpp/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	el, err := xmpp.Parse([]byte(strings.NewReplacer(replace...).Replace(string(data))))
	if err != nil {
		t.Fatal(err)
	}
	return el
}

// A session-accept (the golden one of a Chrome client, with simulcast
// and RTX) is answered with a result, its transport, sources and
// initial last-n go to the bridge (exactly the golden endpoint update),
// and its sources to the other participant: at once to one whose session
// is up, after its own accept to one whose session is pending.
func TestAcceptPassesSourcesToTheBridgeAndTheOthers(t *testing.T) {
	h := newHarness(t)
	// The room and nick of the golden stanzas.
	const nick = "7b2f3c1d"
	c := h.joined("room1@conference.meet.example.com")
	offers := c.inCall(jvb1, "bob", nick)

	bobSources := sourcesOf("bob", 1000)
	c.accept("bob", offers["bob"].SID, bobSources)
	upd := c.bridgeWire.awaitRequest(t, "bob's update", colibriTo(jvb1, updatesEndpoint("bob")))
	upd.result(nil)
	if got := colibriSSRCs(colibriOf(upd.el).Endpoint("bob")); !slices.Equal(got, ssrcs(bobSources)) {
		t.Errorf("bob's sources on the bridge: %v, want %v", got, ssrcs(bobSources))
	}
	c.barrier()
	if early := c.wire.q.drop(func(it *wireItem) bool { return jingleTo(c.occupant(nick), xmpp.JingleSourceAdd)(it.el) }); len(early) != 0 {
		t.Fatalf("source-add to %s before it accepted: %v", nick, early)
	}

	accept := goldenIQ(t, "jingle/session-accept.xml", "5f0ci9a7mn8qs", offers[nick].SID)
	c.send(&Stanza{Room: c.room, El: accept})
	c.awaitResult(accept.AttrValue("id"), nick+"'s session-accept")

	upd = c.bridgeWire.awaitRequest(t, nick+"'s update", colibriTo(jvb1, updatesEndpoint(nick)))
	upd.result(nil)
	c.barrier() // the participants' reports of their sessions are in
	s := c.snapshot()
	want := colibriOf(goldenIQ(t, "colibri2/endpoint-update.xml", "2f8e3c6a-91d4-4b7e-a0f5-6c2d8e1b3a79", s.MeetingID))
	if got := colibriOf(upd.el); !reflect.DeepEqual(got, want) {
		t.Errorf("bridge update:\n%s\nwant (golden):\n%+v", upd.el.Child(xmpp.Colibri2NS, "conference-modify"), want)
	}

	// bob learns of the new sources at once; the newcomer of bob's once
	// it accepted.
	// Of the simulcast camera, bob is told the first layer and its
	// retransmission stream only (the bridge got all 7 SSRCs above).
	accepted, err := sources.FromJingle(jingleOf(accept).Contents)
	if err != nil {
		t.Fatal(err)
	}
	add := c.wire.awaitRequest(t, "source-add to bob", jingleTo(c.occupant("bob"), xmpp.JingleSourceAdd))
	add.result(nil)
	if got, want := sorted(ssrcsIn(jingleOf(add.el))[c.occupant(nick)]), ssrcs(accepted.StripSimulcast()); len(want) != 3 || !slices.Equal(got, want) {
		t.Errorf("source-add to bob: %v, want %s's first simulcast layer, its RTX and audio: %v", ssrcsIn(jingleOf(add.el)), nick, want)
	}
	add = c.wire.awaitRequest(t, "source-add to "+nick, jingleTo(c.occupant(nick), xmpp.JingleSourceAdd))
	add.result(nil)
	if got := ssrcsIn(jingleOf(add.el))[c.occupant("bob")]; !slices.Equal(got, ssrcs(bobSources)) {
		t.Errorf("source-add to %s: %v, want bob's %v", nick, ssrcsIn(jingleOf(add.el)), ssrcs(bobSources))
	}
	if m, _ := s.member(nick); m.JingleState != "active" || !strings.Contains(m.Sources, "2871243112") {
		t.Errorf("%s in the snapshot: %+v", nick, m)
	}
}

// twoInCall brings alice and bob into a call on jvb1, both accepted with
// sources (alice's SSRCs from 1000, bob's from 2000), every request
// answered; it returns their sids.
func twoInCall(t *testing.T, c *tconf) map[string]string {
	t.Helper()
	offers := c.inCall(jvb1, "alice", "bob")
	sids := map[string]string{}
	for i, nick := range []string{"alice", "bob"} {
		sids[nick] = offers[nick].SID
		c.accept(nick, sids[nick], sourcesOf(nick, int64(1000*(i+1))))
		wire, to := c.bridgeOn(jvb1)
		wire.awaitRequest(t, nick+"'s update", colibriTo(to, updatesEndpoint(nick))).result(nil)
	}
	// Each learns of the other's sources.
	c.wire.awaitRequest(t, "source-add to alice", jingleTo(c.occupant("alice"), xmpp.JingleSourceAdd)).result(nil)
	c.wire.awaitRequest(t, "source-add to bob", jingleTo(c.occupant("bob"), xmpp.JingleSourceAdd)).result(nil)
	c.barrier()
	return sids
}

// nothingMore fails the test if anything is on the wires that the test
// has not taken (after a barrier, everything the conference did is there).
func (c *tconf) nothingMore(what string) {
	c.t.Helper()
	c.barrier()
	for _, w := range []*scriptedWire{c.wire, c.bridgeWire} {
		for _, it := range w.q.pending() {
			c.t.Errorf("%s: unexpected on the %s wire: %s", what, w.name, it)
		}
	}
}

// An invalid source-add (an SSRC another participant has, more sources
// than an endpoint may have) is refused with bad-request and goes nowhere;
// a valid one is answered, passed to the bridge (the whole set) and fanned
// out to the other participant; so is a source-remove.
func TestSourceAddIsValidatedThenFannedOut(t *testing.T) {
	h := newHarness(t)
	c := h.joined("room1@conference." + testDomain)
	sids := twoInCall(t, c)

	dup := sources.Set{Sources: []sources.Source{{SSRC: 2001, Media: sources.Audio, Name: "alice-a1", MSID: "alice-audio-2 a2"}}}
	id := c.sourceChange("alice", sids["alice"], xmpp.JingleSourceAdd, dup)
	if cond := c.awaitError(id, "a source-add of bob's SSRC"); cond != xmpp.BadRequest {
		t.Errorf("a source-add of bob's SSRC: %s, want bad-request", cond)
	}
	var many sources.Set
	for i := range int64(19) {
		many.Sources = append(many.Sources, sources.Source{SSRC: 5000 + i, Media: sources.Video, Name: "alice-v9", MSID: "alice-video-9 v9", VideoType: sources.VideoCamera})
	}
	id = c.sourceChange("alice", sids["alice"], xmpp.JingleSourceAdd, many)
	if cond := c.awaitError(id, "a source-add beyond the limit"); cond != xmpp.BadRequest {
		t.Errorf("21 sources: %s, want bad-request", cond)
	}
	c.nothingMore("after refused source-adds")

	share := sources.Set{Sources: []sources.Source{{SSRC: 1003, Media: sources.Video, Name: "alice-v1", MSID: "alice-video-2 v2", VideoType: sources.VideoDesktop}}}
	id = c.sourceChange("alice", sids["alice"], xmpp.JingleSourceAdd, share)
	c.awaitResult(id, "a valid source-add")
	add := c.wire.awaitRequest(t, "source-add to bob", jingleTo(c.occupant("bob"), xmpp.JingleSourceAdd))
	add.result(nil)
	if j := jingleOf(add.el); j.SID != sids["bob"] || !slices.Equal(ssrcsIn(j)[c.occupant("alice")], []int64{1003}) {
		t.Errorf("source-add to bob: sid %q sources %v", j.SID, ssrcsIn(j))
	}
	upd := c.bridgeWire.awaitRequest(t, "alice's update", colibriTo(jvb1, updatesEndpoint("alice")))
	upd.result(nil)
	if got := colibriSSRCs(colibriOf(upd.el).Endpoint("alice")); !slices.Equal(got, []int64{1001, 1002, 1003}) {
		t.Errorf("alice's sources on the bridge: %v", got)
	}

	id = c.sourceChange("alice", sids["alice"], xmpp.JingleSourceRemove, share)
	c.awaitResult(id, "a source-remove")
	rm := c.wire.awaitRequest(t, "source-remove to bob", jingleTo(c.occupant("bob"), xmpp.JingleSourceRemove))
	rm.result(nil)
	if got := ssrcsIn(jingleOf(rm.el))[c.occupant("alice")]; !slices.Equal(got, []int64{1003}) {
		t.Errorf("source-remove to bob: %v", ssrcsIn(jingleOf(rm.el)))
	}
	upd = c.bridgeWire.awaitRequest(t, "alice's update", colibriTo(jvb1, updatesEndpoint("alice")))
	upd.result(nil)
	if got := colibriSSRCs(colibriOf(upd.el).Endpoint("alice")); !slices.Equal(got, []int64{1001, 1002}) {
		t.Errorf("alice's sources on the bridge after the remove: %v", got)
	}
	c.nothingMore("after the source-remove")
}

// A participant leaving has its endpoint expired and its sources removed
// from the others; the last one out expires the conference on the bridge,
// and after the empty timeout the focus leaves and the parent is told.
func TestLeaveExpiresTheEndpointAndTheLastEndsTheConference(t *testing.T) {
	h := newHarness(t)
	c := h.joined("room1@conference." + testDomain)
	twoInCall(t, c)

	c.leaves("bob")
	c.bridgeWire.awaitRequest(t, "bob's endpoint expired", colibriTo(jvb1, expiresEndpoint("bob"))).result(nil)
	rm := c.wire.awaitRequest(t, "source-remove to alice", jingleTo(c.occupant("alice"), xmpp.JingleSourceRemove))
	rm.result(nil)
	if got := ssrcsIn(jingleOf(rm.el))[c.occupant("bob")]; !slices.Equal(got, []int64{2001, 2002}) {
		t.Errorf("source-remove to alice: %v", ssrcsIn(jingleOf(rm.el)))
	}
	s := c.snapshot()
	if _, there := s.member("bob"); there || len(s.Participants) != 1 || len(s.Bridges) != 1 || s.Bridges[0].Endpoints != 1 {
		t.Errorf("snapshot after bob left: %+v", s)
	}
	c.nothingMore("after bob left")

	c.leaves("alice")
	exp := c.bridgeWire.awaitRequest(t, "the conference expired on jvb1", colibriTo(jvb1, expiresConference))
	exp.result(nil)
	if mod := colibriOf(exp.el); mod.MeetingID != s.MeetingID {
		t.Errorf("expired meeting %q, want %q", mod.MeetingID, s.MeetingID)
	}
	awaitRecorded(c, "Ended to the parent", func(e *Ended) bool { return e.Room == c.room && !e.HandedOver })
	c.wire.awaitSent(t, "the leave presence", func(el *xmpp.Element) bool {
		return el.Name.Local == xmpp.KindPresence && el.AttrValue("type") == xmpp.PresenceUnavailable && el.AttrValue("to") == c.room+"/focus"
	})
	for _, it := range c.bridgeWire.q.pending() {
		t.Errorf("more on the bridge wire: %s", it)
	}
}

// A bridge going down moves its participants to another: a new Select
// (without the dead bridge), a new endpoint there, and a new session
// (the old one terminated first).
func TestBridgeDownReinvitesOnAnotherBridge(t *testing.T) {
	h := newHarness(t)
	c := h.joined("room1@conference." + testDomain)
	sids := twoInCall(t, c)

	c.send(&bridge.Down{Bridge: jvb1, Reason: "left the brewery"})
	for i, nick := range []string{"alice", "bob"} {
		r := c.answerSelect(jvb2)
		if i == 0 && len(r.sel.Bridges) != 0 {
			t.Errorf("Select after jvb1 went down: %v, want no bridges", r)
		}
		if i == 1 && (len(r.sel.Bridges) != 1 || r.sel.Bridges[0].JID != jvb2) {
			t.Errorf("second Select after jvb1 went down: %v, want [jvb2(1)]", r)
		}
		if mod := c.allocate(nick, jvb2); mod.Create != (i == 0) {
			t.Errorf("%s's allocation on jvb2: create %v", nick, mod.Create)
		}
		term := c.wire.awaitRequest(t, "the old session of "+nick+" terminated", jingleTo(c.occupant(nick), xmpp.JingleSessionTerminate))
		term.result(nil)
		if j := jingleOf(term.el); j.SID != sids[nick] {
			t.Errorf("terminated %q, want %s's old session %q", j.SID, nick, sids[nick])
		}
		offer := c.awaitInitiate(nick)
		if offer.SID == sids[nick] || offer.BridgeSession == nil {
			t.Errorf("%s's new offer: sid %q bridge-session %+v", nick, offer.SID, offer.BridgeSession)
		}
	}
	s := c.snapshot()
	if len(s.Bridges) != 1 || s.Bridges[0].JID != jvb2 || s.Bridges[0].Endpoints != 2 {
		t.Errorf("snapshot's bridges %+v, want both on jvb2", s.Bridges)
	}
	for _, it := range c.bridgeWire.q.pending() {
		if it.el.AttrValue("to") == jvb1 {
			t.Errorf("asked the dead bridge: %s", it)
		}
	}
}

// A session-terminate with <bridge-session restart='true'/> gets a new
// session on a new endpoint; a second one within 5 s is refused with
// resource-constraint and the participant's media ends.
//
// The participant's clock (participant.Config.Now) cannot be set through
// the conference, so this relies on the two restarts coming well within
// 5 s of real time; that a restart 5 s later is granted, and the limit of
// five a minute, are left to actors/participant's TestRestartLimit.
func TestRestartTwiceWithinFiveSecondsIsRateLimited(t *testing.T) {
	h := newHarness(t)
	c := h.joined("room1@conference." + testDomain)
	sids := twoInCall(t, c)
	s := c.snapshot()

	restart := func(sid string) string {
		return c.iqFrom("alice", &xmpp.Jingle{Action: xmpp.JingleSessionTerminate, SID: sid,
			Reason:        &xmpp.JingleReason{Condition: xmpp.JingleReasonSuccess},
			BridgeSession: &xmpp.JingleBridgeSession{ID: s.Bridges[0].Session, Restart: true}})
	}
	id := restart(sids["alice"])
	c.awaitResult(id, "the first restart")
	c.bridgeWire.awaitRequest(t, "alice's old endpoint expired", colibriTo(jvb1, expiresEndpoint("alice"))).result(nil)
	if r := c.answerSelect(jvb1); len(r.sel.Bridges) != 1 || r.sel.Bridges[0].Participants != 1 {
		t.Errorf("Select for the restart: %v, want [jvb1(1)]", r)
	}
	c.allocate("alice", jvb1)
	offer := c.awaitInitiate("alice")
	if offer.SID == sids["alice"] {
		t.Fatalf("the restart's session has the old sid")
	}

	id = restart(offer.SID)
	if cond := c.awaitError(id, "the second restart"); cond != xmpp.ResourceConstraint {
		t.Fatalf("second restart within 5 s: %s, want resource-constraint", cond)
	}
	c.bridgeWire.awaitRequest(t, "alice's endpoint expired", colibriTo(jvb1, expiresEndpoint("alice"))).result(nil)
	c.barrier()
	h.syncBrewery()
	if more := h.brewery.q.pending(); len(more) != 0 {
		t.Errorf("Selects after the refused restart: %v", more)
	}
	if m, _ := c.snapshot().member("alice"); m.Bridge != "" || m.JingleState != "ended" {
		t.Errorf("alice after the refused restart: %+v", m)
	}
}
