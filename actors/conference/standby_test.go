package conference

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"focal/media/sources"
	"focal/proto"
	"focal/xmpp"
)

// The cluster side of a conference: a standby keeps its owner's state and,
// promoted, drives the room from it on a new wire; a driving conference
// hands over its final state; a standby passes its copy on.

// owned is a conference driven on node1 with alice and bob in a call on
// jvb1 (twoInCall), the recorder its replica: it returns the conference,
// the replica's view of it (its latest state is the call as it stands)
// and alice's and bob's Jingle sids.
func (h *harness) owned(room string) (*tconf, *replicaView, map[string]string) {
	h.t.Helper()
	c := h.joined(room)
	c.send(&ReplicaIs{PID: c.recPID})
	r := &replicaView{}
	r.barrier(c, "the replica named")
	sids := twoInCall(h.t, c)
	r.check(c, "alice and bob in the call")
	return c, r, sids
}

// standby starts a conference of room on node2 standing by for st, with
// its own recorder as parent and its own bridge wire. Its room wire is
// the one the test gives it in Promote: until then it has none.
func (h *harness) standby(room string, st *focalpb.ConferenceState, mutate ...func(*Config)) *tconf {
	h.t.Helper()
	cfg := h.cfg
	cfg.Node = "node2"
	for _, m := range mutate {
		m(&cfg)
	}
	c := &tconf{
		h: h, t: h.t, room: room,
		wire:       &scriptedWire{name: "new room"},
		bridgeWire: &scriptedWire{name: "node2's bridge"},
	}
	c.rec = &recorder{
		props: Props(cfg, Start{Room: room, BridgeWire: c.bridgeWire, Standby: st}),
		child: make(chan *actor.PID, 1),
	}
	c.recPID = h.root.Spawn(actor.PropsFromProducer(func() actor.Actor { return c.rec }))
	c.pid = <-c.rec.child
	h.t.Cleanup(func() { _ = h.root.StopFuture(c.recPID).Wait() })
	return c
}

// promote makes the standby drive the room on its wire, as testFocusAddr
// with session sm-2.
func (c *tconf) promote(seated bool) {
	c.send(&Promote{Wire: c.wire, Addr: testFocusAddr, Session: "sm-2", Up: true, Seated: seated})
}

// awaitStopped returns once the conference's actor has stopped.
func (c *tconf) awaitStopped() {
	c.t.Helper()
	done := make(chan struct{})
	watcher := c.h.root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch msg := ctx.Message().(type) {
		case *actor.Started:
			ctx.Watch(c.pid)
		case *actor.Terminated:
			if msg.Who.Equal(c.pid) {
				close(done)
			}
		}
	}))
	defer c.h.root.Stop(watcher)
	select {
	case <-done:
	case <-time.After(awaitTimeout):
		c.t.Fatalf("the conference did not stop")
	}
}

// isFocusPresence matches a presence joining the focus's occupant of room
// (with the MUC <x/>, which updates have not).
func isFocusPresence(room string) func(*xmpp.Element) bool {
	return func(el *xmpp.Element) bool {
		return el.Name.Local == xmpp.KindPresence && el.AttrValue("to") == room+"/focus" && el.Child(xmpp.NSMUC, "x") != nil
	}
}

// A standby promoted on a session that is still the focus occupant
// (resumed) drives the room from its owner's latest state without joining:
// the participants carry on their Jingle sessions on the new wire, the
// colibri session resumes the owner's conference on the same bridge, and
// the request waiting is answered ready.
func TestPromotedSeatedCarriesOnTheSessionsOnTheNewWire(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Node = "node1" })
	room := "room1@conference." + testDomain
	owner, r, sids := h.owned(room)
	latest := r.latest

	// The standby starts with an older state and gets the latest.
	first := proto.Clone(latest).(*focalpb.ConferenceState)
	first.Version, first.Members, first.Sources, first.Bridges = 1, nil, nil, nil
	s := h.standby(room, first)
	s.send(latest)
	if snap := s.snapshot(); !snap.Standby || snap.Node != "node1" || len(snap.Participants) != 2 || snap.MeetingID != latest.MeetingId {
		t.Fatalf("standby's snapshot %+v, want node1's latest state", snap)
	}
	s.request()
	s.barrier()
	if early := s.rec.q.drop(func(v any) bool { _, ok := v.(*focalpb.ConferenceResponse); return ok }); len(early) != 0 {
		t.Fatalf("a standby answered a request: %v", early)
	}

	s.promote(true)
	if res := awaitRecorded[*focalpb.ConferenceResponse](s, "the answer to the waiting request", nil); !res.Ready {
		t.Errorf("the waiting request answered %v", res)
	}
	s.nothingMore("promoted, seated")
	snap := s.snapshot()
	if snap.Standby || !snap.Joined || snap.MeetingID != latest.MeetingId || len(snap.Bridges) != 1 || snap.Bridges[0].JID != jvb1 {
		t.Errorf("promoted snapshot %+v", snap)
	}
	for _, nick := range []string{"alice", "bob"} {
		if m, _ := snap.member(nick); m.JingleSID != sids[nick] || m.JingleState != "active" || m.Bridge != jvb1 {
			t.Errorf("%s after the promotion: %+v", nick, m)
		}
	}

	share := sources.Set{Sources: []sources.Source{{SSRC: 1003, Media: sources.Video, Name: "alice-v1", MSID: "alice-video-2 v2", VideoType: sources.VideoDesktop}}}
	id := s.sourceChange("alice", sids["alice"], xmpp.JingleSourceAdd, share)
	s.awaitResult(id, "alice's source-add with her old sid")
	add := s.wire.awaitRequest(t, "source-add to bob", jingleTo(s.occupant("bob"), xmpp.JingleSourceAdd))
	add.result(nil)
	if j := jingleOf(add.el); j.SID != sids["bob"] || !slices.Equal(ssrcsIn(j)[s.occupant("alice")], []int64{1003}) {
		t.Errorf("source-add to bob: sid %q (want %q), sources %v", j.SID, sids["bob"], ssrcsIn(j))
	}
	upd := s.bridgeWire.awaitRequest(t, "alice's update", colibriTo(jvb1, updatesEndpoint("alice")))
	upd.result(nil)
	mod := colibriOf(upd.el)
	if mod.Create || mod.MeetingID != latest.MeetingId {
		t.Errorf("alice's update: create %v meeting %q, want the owner's meeting %q resumed", mod.Create, mod.MeetingID, latest.MeetingId)
	}
	if got := colibriSSRCs(mod.Endpoint("alice")); !slices.Equal(got, []int64{1001, 1002, 1003}) {
		t.Errorf("alice's sources on the bridge: %v", got)
	}
	s.nothingMore("after alice's source-add")
	owner.barrier()
	for _, w := range []*scriptedWire{owner.wire, owner.bridgeWire} {
		for _, it := range w.q.pending() {
			t.Errorf("on the old owner's %s wire: %s", w.name, it)
		}
	}
}

// A standby promoted on a session that has to join the room joins it on
// the new wire; the occupant list then says who is still there: bob, who
// left while the focus was out of the room, is forgotten (his endpoint
// expired, his sources removed from alice's session), alice is kept with
// her session and endpoint.
func TestPromotedUnseatedJoinsAndDropsWhoIsNotInTheRoom(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Node = "node1" })
	room := "room1@conference." + testDomain
	_, r, sids := h.owned(room)
	s := h.standby(room, r.latest)
	s.request()

	s.promote(false)
	join := s.wire.awaitSent(t, "the join presence", isFocusPresence(room))
	if join.AttrValue("type") != "" || join.Child(xmpp.NSMUC, "x") == nil {
		t.Fatalf("join presence %s", join)
	}
	s.presence("alice", "", "alice@"+testDomain+"/web", xmpp.AffiliationOwner, xmpp.RoleModerator)
	s.selfPresence()
	if res := awaitRecorded[*focalpb.ConferenceResponse](s, "the answer to the waiting request", nil); !res.Ready {
		t.Errorf("the waiting request answered %v", res)
	}

	exp := s.bridgeWire.awaitRequest(t, "bob's endpoint expired", colibriTo(jvb1, expiresEndpoint("bob")))
	exp.result(nil)
	if mod := colibriOf(exp.el); mod.Create || mod.MeetingID != r.latest.MeetingId {
		t.Errorf("bob's expire: create %v meeting %q, want the owner's %q", mod.Create, mod.MeetingID, r.latest.MeetingId)
	}
	rm := s.wire.awaitRequest(t, "source-remove to alice", jingleTo(s.occupant("alice"), xmpp.JingleSourceRemove))
	rm.result(nil)
	if j := jingleOf(rm.el); j.SID != sids["alice"] || !slices.Equal(ssrcsIn(j)[s.occupant("bob")], []int64{2001, 2002}) {
		t.Errorf("source-remove to alice: sid %q (want %q) sources %v", j.SID, sids["alice"], ssrcsIn(j))
	}
	s.nothingMore("after the occupant list")
	snap := s.snapshot()
	if _, there := snap.member("bob"); there || len(snap.Participants) != 1 {
		t.Errorf("participants after the join: %+v", snap.Participants)
	}
	if m, _ := snap.member("alice"); m.JingleSID != sids["alice"] || m.JingleState != "active" || m.Bridge != jvb1 {
		t.Errorf("alice after the join: %+v", m)
	}
	if len(snap.Bridges) != 1 || snap.Bridges[0].JID != jvb1 || snap.Bridges[0].Endpoints != 1 {
		t.Errorf("bridges after the join: %+v", snap.Bridges)
	}
}

// Stanzas that reach a standby (passed on by the previous owner) wait for
// its promotion and are then handled in the order they came: carol's
// arrival, alice's source-add and then her source-remove of the same
// source (which only succeeds after the add).
func TestStanzasBufferedWhileStandingByAreHandledInOrderAfterPromotion(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Node = "node1" })
	room := "room1@conference." + testDomain
	_, r, sids := h.owned(room)
	s := h.standby(room, r.latest)

	s.joins("carol", "carol@"+testDomain+"/web")
	share := sources.Set{Sources: []sources.Source{{SSRC: 1003, Media: sources.Video, Name: "alice-v1", MSID: "alice-video-2 v2", VideoType: sources.VideoDesktop}}}
	addID := s.sourceChange("alice", sids["alice"], xmpp.JingleSourceAdd, share)
	rmID := s.sourceChange("alice", sids["alice"], xmpp.JingleSourceRemove, share)
	s.barrier()
	if snap := s.snapshot(); len(snap.Participants) != 2 {
		t.Errorf("the standby's state changed by a buffered stanza: %+v", snap.Participants)
	}
	for _, it := range s.wire.q.pending() {
		t.Errorf("sent before the promotion: %s", it)
	}

	s.promote(true)
	s.awaitResult(addID, "alice's buffered source-add")
	s.awaitResult(rmID, "alice's buffered source-remove")
	add := s.wire.awaitRequest(t, "source-add to bob", jingleTo(s.occupant("bob"), xmpp.JingleSourceAdd))
	add.result(nil)
	if got := ssrcsIn(jingleOf(add.el))[s.occupant("alice")]; !slices.Equal(got, []int64{1003}) {
		t.Errorf("source-add to bob: %v", ssrcsIn(jingleOf(add.el)))
	}
	rm := s.wire.awaitRequest(t, "source-remove to bob", jingleTo(s.occupant("bob"), xmpp.JingleSourceRemove))
	rm.result(nil)
	if got := ssrcsIn(jingleOf(rm.el))[s.occupant("alice")]; !slices.Equal(got, []int64{1003}) {
		t.Errorf("source-remove to bob: %v", ssrcsIn(jingleOf(rm.el)))
	}
	s.ready("carol")
	s.barrier()
	snap := s.snapshot()
	if m, ok := snap.member("carol"); !ok || m.JID != "carol@"+testDomain+"/web" {
		t.Errorf("carol after the promotion: %+v (participants %+v)", m, snap.Participants)
	}
	if m, _ := snap.member("alice"); m.Sources == "" || strings.Contains(m.Sources, "1003") {
		t.Errorf("alice's sources after the add and the remove: %q", m.Sources)
	}
}

// sameMessages says whether a and b are equal messages, in order.
func sameMessages[T proto.Message](a, b []T) bool {
	return slices.EqualFunc(a, b, func(x, y T) bool { return proto.Equal(x, y) })
}

// sameCall fails the test unless got has want's members, sources and
// bridges.
func sameCall(t *testing.T, what string, got, want *focalpb.ConferenceState) {
	t.Helper()
	if got.Room != want.Room || got.MeetingId != want.MeetingId {
		t.Errorf("%s: room %q meeting %q, want %q %q", what, got.Room, got.MeetingId, want.Room, want.MeetingId)
	}
	if !sameMessages(got.Members, want.Members) {
		t.Errorf("%s: members\n  %v\nwant\n  %v", what, got.Members, want.Members)
	}
	if !sameMessages(got.Sources, want.Sources) {
		t.Errorf("%s: sources\n  %v\nwant\n  %v", what, got.Sources, want.Sources)
	}
	if !sameMessages(got.Bridges, want.Bridges) {
		t.Errorf("%s: bridges\n  %v\nwant\n  %v", what, got.Bridges, want.Bridges)
	}
}

// HandOver sends the new owner the final state (the call as it stands),
// then stops without leaving the room (the new owner resumes the session
// that is its focus occupant) and without expiring anything on the bridge
// (the media carries on); the parent is told it was handed over.
func TestHandOverSendsTheFinalStateAndStopsInTheRoom(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Node = "node1" })
	c, r, _ := h.owned("room1@conference." + testDomain)
	r.barrier(c, "before the handover")

	c.send(&HandOver{To: c.recPID, Node: "node2"})
	states, ended := c.rec.q.takeUntil(t, "Ended to the parent", func(v any) bool { _, ok := v.(*Ended); return ok }, isState)
	if e := ended.(*Ended); !e.HandedOver || !e.HandedTo.Equal(c.recPID) || e.Room != c.room {
		t.Errorf("Ended %+v, want handed over to the recorder", e)
	}
	if len(states) != 1 {
		t.Fatalf("states before Ended: %v, want the final one", states)
	}
	final := states[0].(*focalpb.ConferenceState)
	if !final.Final || final.Owner != "node1" || final.Ended || final.Version <= r.version {
		t.Errorf("final state: final %v owner %q ended %v version %d (last %d)", final.Final, final.Owner, final.Ended, final.Version, r.version)
	}
	sameCall(t, "final state", final, r.latest)

	c.awaitStopped()
	for _, v := range c.rec.q.pending() {
		if st, ok := v.(*focalpb.ConferenceState); ok {
			t.Errorf("a state after the final one: ended %v final %v", st.Ended, st.Final)
		}
	}
	for _, w := range []*scriptedWire{c.wire, c.bridgeWire} {
		for _, it := range w.q.pending() {
			t.Errorf("on the %s wire after the handover: %s", w.name, it)
		}
	}
}

// PassOn makes a standby send its copy of the state on as final and
// ownerless, then the session's resumption state likewise, and stop.
func TestPassOnSendsTheStandbysStateAsFinalAndOwnerlessAndStops(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Node = "node1" })
	room := "room1@conference." + testDomain
	_, r, _ := h.owned(room)
	s := h.standby(room, r.latest)

	sm := &focalpb.ShardSession{Shard: 1, Id: "sm-1", Jid: testFocusAddr, H: 42, MaxMs: 60000, Owner: "node1"}
	s.send(&PassOn{To: s.recPID, Session: sm})
	states, got := s.rec.q.takeUntil(t, "the session state", func(v any) bool { _, ok := v.(*focalpb.ShardSession); return ok }, isState)
	if len(states) != 1 {
		t.Fatalf("states before the session: %v, want one", states)
	}
	st := states[0].(*focalpb.ConferenceState)
	if !st.Final || st.Owner != "" || st.Ended || st.Version != r.latest.Version {
		t.Errorf("passed-on state: final %v owner %q ended %v version %d (the copy's %d)", st.Final, st.Owner, st.Ended, st.Version, r.latest.Version)
	}
	sameCall(t, "passed-on state", st, r.latest)
	session := got.(*focalpb.ShardSession)
	if !session.Final || session.Owner != "" || session.Id != sm.Id || session.H != sm.H || session.Jid != sm.Jid || session.Shard != sm.Shard {
		t.Errorf("passed-on session %v, want %v final and ownerless", session, sm)
	}
	if sm.Final || sm.Owner != "node1" {
		t.Errorf("PassOn changed the session it was given: %v", sm)
	}
	s.awaitStopped()
	for _, it := range s.bridgeWire.q.pending() {
		t.Errorf("on the bridge wire after passing on: %s", it)
	}
}

// LetGo (the node thinks itself cut off from its cluster) hands the
// conference over to its replica as best it can: the final state to the
// replica, no leave, no expire, Ended handed over to the replica.
func TestLetGoHandsOverToTheReplica(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Node = "node1" })
	c, r, _ := h.owned("room1@conference." + testDomain)
	r.barrier(c, "before letting go")

	c.send(&LetGo{})
	states, ended := c.rec.q.takeUntil(t, "Ended to the parent", func(v any) bool { _, ok := v.(*Ended); return ok }, isState)
	if e := ended.(*Ended); !e.HandedOver || !e.HandedTo.Equal(c.recPID) {
		t.Errorf("Ended %+v, want handed over to the replica", e)
	}
	if len(states) != 1 || !states[0].(*focalpb.ConferenceState).Final {
		t.Fatalf("states before Ended: %v, want the final one", states)
	}
	sameCall(t, "final state", states[0].(*focalpb.ConferenceState), r.latest)
	c.awaitStopped()
	for _, w := range []*scriptedWire{c.wire, c.bridgeWire} {
		for _, it := range w.q.pending() {
			t.Errorf("on the %s wire after letting go: %s", w.name, it)
		}
	}
}

// A request that reached a standby whose owner does not hand the
// conference over (alive, but out of this node's reach) goes back to the
// directory, for the owner, once it has waited StandbyWait, rather than
// left to time out; the conference goes on standing by.
func TestARequestToAStandbyThatDoesNotDriveGoesToTheOwner(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Node = "node1"; c.StandbyWait = 50 * time.Millisecond })
	room := "room1@conference." + testDomain
	_, r, _ := h.owned(room)
	s := h.standby(room, r.latest)

	s.request()
	gaveUp := awaitRecorded[*StandbyGaveUp](s, "the request handed back", nil)
	if gaveUp.Owner != "node1" || gaveUp.Request.GetRoom() != room || gaveUp.To == nil {
		t.Errorf("handed back %+v, want the request, its requester and node1", gaveUp)
	}
	if early := s.rec.q.drop(func(v any) bool { _, ok := v.(*focalpb.ConferenceResponse); return ok }); len(early) != 0 {
		t.Errorf("the standby answered the request itself: %v", early)
	}
	if snap := s.snapshot(); !snap.Standby {
		t.Errorf("the conference stopped standing by")
	}
}
