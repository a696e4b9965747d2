package conference

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"focal/actors/bridge"
	"focal/media/sources"
	"focal/proto"
	"focal/xmpp"
)

// replicaView follows what the recorder, as the conference's replica, was
// sent.
type replicaView struct {
	latest  *focalpb.ConferenceState
	version uint64
	count   int
}

func isState(v any) bool { _, ok := v.(*focalpb.ConferenceState); return ok }

// check asks the conference for its snapshot, once its children's reports
// are in, and compares it with the replica's latest state: every state
// sent before the snapshot's answer is recorded before it, so the two
// must agree.
func (r *replicaView) check(c *tconf, step string) {
	c.t.Helper()
	// First what the participants and colibri sessions were handling:
	// a report still on its way would change the state after the snapshot.
	r.barrier(c, step)
	c.send(&GetSnapshot{})
	states, v := c.rec.q.takeUntil(c.t, "a snapshot ("+step+")", func(v any) bool { _, ok := v.(Snapshot); return ok }, isState)
	r.absorb(c, step, states)
	if r.latest == nil {
		c.t.Fatalf("%s: the replica has no state", step)
	}
	want := v.(Snapshot)
	got := snapshotOf(r.latest)
	got.Node, got.Focus, got.Joined = want.Node, want.Focus, want.Joined
	if !reflect.DeepEqual(got, want) {
		c.t.Errorf("%s: the replica's latest state (version %d) shows\n  %+v\nthe conference's snapshot\n  %+v", step, r.latest.Version, got, want)
	}
}

// absorb takes in states the replica was sent, checking that versions
// grow and the envelope.
func (r *replicaView) absorb(c *tconf, step string, states []any) {
	c.t.Helper()
	for _, v := range states {
		st := v.(*focalpb.ConferenceState)
		if st.Version <= r.version {
			c.t.Errorf("%s: state version %d after %d", step, st.Version, r.version)
		}
		if st.Owner != c.h.cfg.Node || st.Room != c.room || st.Final {
			c.t.Errorf("%s: state envelope owner %q room %q final %v", step, st.Owner, st.Room, st.Final)
		}
		r.latest, r.version = st, st.Version
		r.count++
	}
}

// barrier sends a barrier and takes in the states sent before its answer.
func (r *replicaView) barrier(c *tconf, step string) {
	c.t.Helper()
	b := &Barrier{Session: "sm-1"}
	c.send(b)
	states, _ := c.rec.q.takeUntil(c.t, "the barrier's answer ("+step+")", func(v any) bool { x, ok := v.(*Barrier); return ok && x == b }, isState)
	r.absorb(c, step, states)
}

// nothingSent checks that what was sent since the last check changed
// nothing, and so sent the replica nothing.
func (r *replicaView) nothingSent(c *tconf, step string) {
	c.t.Helper()
	n := r.count
	r.barrier(c, step)
	if r.count != n {
		c.t.Errorf("%s: a message that changes nothing sent the replica %d state(s)", step, r.count-n)
	}
}

// Every change of the conference's state reaches the replica, in the
// order made, with growing versions: after each step, the replica's latest
// state shows what the conference's snapshot shows. A message that
// changes nothing sends nothing. Nothing is sent before the focus is in
// the room; the end is sent as Ended.
func TestEveryStateChangeReachesTheReplica(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Node = "node1"; c.EmptyTimeout = time.Second })
	c := h.start("room1@conference." + testDomain)
	r := &replicaView{}
	c.send(&ReplicaIs{PID: c.recPID})
	c.request("startVideoMuted", "1")
	r.nothingSent(c, "before the focus is in the room")

	c.selfPresence()
	awaitRecorded[*focalpb.ConferenceResponse](c, "the answer to the request", nil)
	c.roomInfo("")
	r.check(c, "joined")
	if r.latest.GetOptions().GetStartVideoMuted() != 1 || r.latest.Session != "sm-1" || r.latest.MeetingId == "" {
		t.Errorf("joined: replica's state %v", r.latest)
	}

	c.joins("alice", "alice@"+testDomain+"/web")
	c.wire.awaitRequest(t, "owner grant", ownerGrant(c.room, "alice@"+testDomain)).result(nil)
	r.check(c, "alice joined")
	c.presence("alice", "", "alice@"+testDomain+"/web", xmpp.AffiliationOwner, xmpp.RoleModerator)
	r.check(c, "alice is owner")
	c.presence("alice", "", "alice@"+testDomain+"/web", xmpp.AffiliationOwner, xmpp.RoleModerator)
	r.nothingSent(c, "alice's presence again")
	c.send(&GetSnapshot{})
	awaitRecorded[Snapshot](c, "a snapshot", nil)
	r.nothingSent(c, "a snapshot")

	c.joins("bob", "bob@"+testDomain+"/web")
	r.check(c, "bob joined")
	c.ready("alice")
	c.barrier()
	c.ready("bob")
	c.barrier()
	r.check(c, "both ready")
	for _, m := range r.latest.Members {
		if len(m.GetJingle().GetFeatures()) == 0 {
			t.Errorf("both ready: %s's features are not in the replica", m.Nick)
		}
	}

	// A Select answer reaches the replica by the next message (see
	// TestSelectAnswerReachesTheReplica): a barrier's, say, whose answer
	// comes after it.
	for _, nick := range []string{"alice", "bob"} {
		c.answerSelect(jvb1)
		r.barrier(c, nick+" placed")
		if m := memberOf(r.latest, nick); m.GetBridge() != jvb1 || m.GetAllocated() {
			t.Errorf("%s placed: the replica has %v", nick, m)
		}
		c.allocate(nick, jvb1)
		c.awaitInitiate(nick)
		r.check(c, nick+" invited")
	}
	r.barrier(c, "invited") // the participants' reports of their sessions are in
	for _, m := range r.latest.Members {
		if m.Bridge != jvb1 || !m.Allocated || m.GetJingle().GetState() != focalpb.SessionState_SESSION_PENDING {
			t.Errorf("invited: %s in the replica: %v", m.Nick, m)
		}
	}

	sids := map[string]string{}
	for _, m := range r.latest.Members {
		sids[m.Nick] = m.GetJingle().GetSid()
	}
	c.accept("alice", sids["alice"], sourcesOf("alice", 1000))
	r.check(c, "alice accepted")
	c.accept("bob", sids["bob"], sourcesOf("bob", 2000))
	r.check(c, "bob accepted")
	if len(r.latest.Sources) != 2 {
		t.Errorf("accepted: the replica's sources %v", r.latest.Sources)
	}

	share := sources.Set{Sources: []sources.Source{{SSRC: 1003, Media: sources.Video, Name: "alice-v1", MSID: "alice-video-2 v2", VideoType: sources.VideoDesktop}}}
	id := c.sourceChange("alice", sids["alice"], xmpp.JingleSourceAdd, share)
	c.awaitResult(id, "alice's source-add")
	r.check(c, "alice added a source")
	ti := &xmpp.Jingle{Action: xmpp.JingleTransportInfo, SID: sids["alice"],
		Contents: []xmpp.JingleContent{{Name: "audio", Transport: clientTransport("alice")}}}
	tiID := c.iqFrom("alice", ti)
	c.awaitResult(tiID, "alice's transport-info")
	c.bridgeWire.awaitRequest(t, "alice's transport update", colibriTo(jvb1, updatesEndpoint("alice"))).result(nil)
	r.check(c, "a transport-info (for the bridge only)")
	// Its only trace is that it was answered, and nothing waits to go out.
	if m := memberOf(r.latest, "alice"); !slices.Contains(m.GetHandled(), tiID) || m.GetBridgeBehind() || len(r.latest.Outbox) != 0 {
		t.Errorf("after the transport-info: alice handled %v, bridge behind %v; outbox %v", m.GetHandled(), m.GetBridgeBehind(), r.latest.Outbox)
	}

	c.send(&bridge.Down{Bridge: jvb1, Reason: "health check failed"})
	for _, nick := range []string{"alice", "bob"} {
		c.answerSelect(jvb2)
		c.allocate(nick, jvb2)
		c.awaitInitiate(nick)
		r.check(c, nick+" moved to jvb2")
	}
	if len(r.latest.Bridges) != 1 || r.latest.Bridges[0].Jid != jvb2 || len(r.latest.Sources) != 0 {
		t.Errorf("moved: the replica's bridges %v sources %v", r.latest.Bridges, r.latest.Sources)
	}

	c.leaves("bob")
	r.check(c, "bob left")
	c.leaves("alice")
	r.check(c, "alice left")
	awaitRecorded(c, "Ended to the parent", func(e *Ended) bool { return e.Room == c.room })
	ended := awaitRecorded(c, "the ended state", func(st *focalpb.ConferenceState) bool { return st.Ended })
	if ended.Version <= r.version {
		t.Errorf("ended state version %d after %d", ended.Version, r.version)
	}
}

// The brewery's answer places a participant on a bridge (its endpoint is
// being allocated there, and the snapshot shows it), and that change
// should reach the replica like any other, before anything the conference
// answers afterwards.
//
// It does not: the answer re-enters the conference through ReenterAfter
// (selection.go, requestBridge), whose continuation protoactor runs as a
// system message, outside Receive, so replicateChanges does not follow it;
// the placement reaches the replica only with the next message the
// conference receives. A Barrier is such a message, so what a shard
// session acknowledges is still replicated first; but a snapshot (and
// the replica, should the node die in between) sees the conference
// without it: the bridge session it started there, and the conference
// created on that bridge, are unknown to whoever takes over.
func TestSelectAnswerReachesTheReplica(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Node = "node1" })
	c := h.joined("room1@conference." + testDomain)
	r := &replicaView{}
	c.send(&ReplicaIs{PID: c.recPID})
	c.joins("alice", "")
	c.joins("bob", "")
	c.ready("alice")
	c.barrier()
	c.ready("bob")
	c.barrier() // nothing else reaches the conference after the answer
	r.check(c, "both ready")

	c.answerSelect(jvb1)
	// The answer was handled: alice's endpoint is being allocated.
	c.bridgeWire.awaitRequest(t, "alice's allocation", colibriTo(jvb1, createsEndpoint("alice")))
	r.check(c, "the Select answered")
}
