package conference

import (
	"os"
	"reflect"
	"testing"
	"time"

	"focal/media/sources"
	"focal/xmpp"
)

// Jicofo's table (ConferenceConfigTest): the delay of the largest size
// listed not above the conference's, none below the smallest.
func TestSignalingDelayByConferenceSize(t *testing.T) {
	d := SignalingDelays{200: time.Second, 100: 500 * time.Millisecond, 300: 2 * time.Second}
	for size, want := range map[int]time.Duration{
		0: 0, 50: 0, 99: 0, 100: 500 * time.Millisecond, 199: 500 * time.Millisecond,
		200: time.Second, 299: time.Second, 300: 2 * time.Second, 5000: 2 * time.Second,
	} {
		if got := d.For(size); got != want {
			t.Errorf("size %d: %v, want %v", size, got, want)
		}
	}
	if got := SignalingDelays(nil).For(500); got != 0 {
		t.Errorf("no delays configured: %v, want none", got)
	}
}

// A batch keeps only what is left of its changes: an addition and a
// removal of the same source (or group) cancel out whichever came first,
// and additions of several owners merge.
func TestSourceBatchCancelsWhatIsUndone(t *testing.T) {
	camera := sourcesOf("alice", 1000)
	share := sources.Set{Sources: []sources.Source{{SSRC: 1003, Media: sources.Video, Name: "alice-v1", MSID: "alice-video-2 v2", VideoType: sources.VideoDesktop}}}
	sim := sources.Set{
		Sources: []sources.Source{{SSRC: 3001, Media: sources.Video, Name: "carol-v0", MSID: "carol-v v"}, {SSRC: 3002, Media: sources.Video, Name: "carol-v0", MSID: "carol-v v"}},
		Groups:  []sources.Group{{Semantics: xmpp.JingleSemanticsFID, Media: sources.Video, SSRCs: []int64{3001, 3002}}},
	}

	var b sourceBatch
	b.record("alice", false, camera)
	b.record("carol", false, sim)
	b.record("alice", false, share)
	b.record("alice", true, share) // added and removed within the batch
	b.record("carol", true, sim)   // the same, with its group
	if !reflect.DeepEqual(b.add, map[string]sources.Set{"alice": camera}) || b.remove != nil {
		t.Errorf("add %v remove %v; want alice's camera added, nothing removed", b.add, b.remove)
	}

	// Removed (it had been signalled) and added again: nothing to say.
	b = sourceBatch{}
	b.record("alice", true, share)
	b.record("alice", false, share)
	if !b.empty() {
		t.Errorf("a signalled source removed and added again: add %v remove %v, want nothing", b.add, b.remove)
	}

	// Removed, then a new source: both, removal first when sent.
	b = sourceBatch{}
	b.record("alice", true, share)
	b.record("alice", false, camera)
	if !reflect.DeepEqual(b.remove["alice"], share) || !reflect.DeepEqual(b.add["alice"], camera) {
		t.Errorf("add %v remove %v", b.add, b.remove)
	}
	add, remove := b.export()
	back := sourceBatch{add: importByOwner(add), remove: importByOwner(remove)}
	if !reflect.DeepEqual(back, b) {
		t.Errorf("the batch through the replicated state: %+v, want %+v", back, b)
	}
}

// batchedConference is a conference whose source changes wait an hour
// once it has a participant: only a session's acceptance sends its batch.
// aliceThenBobAccept puts alice and bob in a call on jvb1 and has alice
// accept first: bob, accepting second, gets alice's sources at once, and
// bob's wait in alice's batch.
func aliceThenBobAccept(t *testing.T, c *tconf) map[string]*xmpp.Jingle {
	t.Helper()
	offers := c.inCall(jvb1, "alice", "bob")
	c.accept("alice", offers["alice"].SID, sourcesOf("alice", 1000))
	c.bridgeWire.awaitRequest(t, "alice's update", colibriTo(jvb1, updatesEndpoint("alice"))).result(nil)
	c.accept("bob", offers["bob"].SID, sourcesOf("bob", 2000))
	c.bridgeWire.awaitRequest(t, "bob's update", colibriTo(jvb1, updatesEndpoint("bob"))).result(nil)
	c.wire.awaitRequest(t, "source-add to bob, on acceptance", jingleTo(c.occupant("bob"), xmpp.JingleSourceAdd)).result(nil)
	return offers
}

func batchedConference(t *testing.T, delay time.Duration, mutate ...func(*Config)) (*harness, *tconf) {
	h := newHarness(t, append([]func(*Config){func(c *Config) { c.SourceSignalingDelays = SignalingDelays{1: delay} }}, mutate...)...)
	return h, h.joined("room1@conference." + testDomain)
}

// goldenJingle reads a Jingle payload of testdata, with its sid set.
func goldenJingle(t *testing.T, name, sid string) *xmpp.Jingle {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	el, err := xmpp.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	j := jingleOf(el)
	if j == nil {
		t.Fatalf("%s holds no jingle", name)
	}
	j.SID = sid
	return j
}

// A participant whose session is pending is told nothing; when it
// accepts, everything that changed since its offer goes in one source-add
// (the golden one): the others' new sources merged, a screen share added
// and removed meanwhile nowhere, and no source-remove. The others, in a
// conference whose batches wait, are told nothing before their delay.
func TestChangesSinceTheOfferGoMergedOnAcceptance(t *testing.T) {
	_, c := batchedConference(t, time.Hour)
	offers := c.inCall(jvb1, "alice", "bob", "carol")
	c.accept("alice", offers["alice"].SID, sourcesOf("alice", 1000))
	c.bridgeWire.awaitRequest(t, "alice's update", colibriTo(jvb1, updatesEndpoint("alice"))).result(nil)
	c.accept("carol", offers["carol"].SID, sourcesOf("carol", 3000))
	c.bridgeWire.awaitRequest(t, "carol's update", colibriTo(jvb1, updatesEndpoint("carol"))).result(nil)
	// carol accepted after alice: alice's sources go to her at once.
	add := c.wire.awaitRequest(t, "source-add to carol", jingleTo(c.occupant("carol"), xmpp.JingleSourceAdd))
	add.result(nil)
	if got := ssrcsIn(jingleOf(add.el)); !reflect.DeepEqual(got, map[string][]int64{c.occupant("alice"): {1001, 1002}}) {
		t.Errorf("source-add to carol on acceptance: %v, want alice's", got)
	}

	share := sources.Set{Sources: []sources.Source{{SSRC: 3003, Media: sources.Video, Name: "carol-v1", MSID: "carol-video-2 v2", VideoType: sources.VideoDesktop}}}
	id := c.sourceChange("carol", offers["carol"].SID, xmpp.JingleSourceAdd, share)
	c.awaitResult(id, "carol's screen share")
	c.bridgeWire.awaitRequest(t, "carol's share to the bridge", colibriTo(jvb1, updatesEndpoint("carol"))).result(nil)
	id = c.sourceChange("carol", offers["carol"].SID, xmpp.JingleSourceRemove, share)
	c.awaitResult(id, "carol's screen share ended")
	c.bridgeWire.awaitRequest(t, "carol's share off the bridge", colibriTo(jvb1, updatesEndpoint("carol"))).result(nil)
	c.nothingMore("changes waiting in the batches")

	c.accept("bob", offers["bob"].SID, sourcesOf("bob", 2000))
	c.bridgeWire.awaitRequest(t, "bob's update", colibriTo(jvb1, updatesEndpoint("bob"))).result(nil)
	add = c.wire.awaitRequest(t, "source-add to bob", jingleTo(c.occupant("bob"), xmpp.JingleSourceAdd))
	add.result(nil)
	if got, want := jingleOf(add.el), goldenJingle(t, "batched-source-add.xml", offers["bob"].SID); !reflect.DeepEqual(got, want) {
		t.Errorf("source-add to bob:\n%s\nwant (golden):\n%+v", add.el, want)
	}
	c.nothingMore("bob told once")

	// Later changes wait for the delay, whatever bob's session reports
	// meanwhile.
	id = c.sourceChange("carol", offers["carol"].SID, xmpp.JingleSourceAdd, share)
	c.awaitResult(id, "carol's screen share again")
	c.bridgeWire.awaitRequest(t, "carol's share to the bridge again", colibriTo(jvb1, updatesEndpoint("carol"))).result(nil)
	info := &xmpp.Jingle{Action: xmpp.JingleTransportInfo, SID: offers["bob"].SID, Contents: []xmpp.JingleContent{{Name: xmpp.JingleContentAudio, Creator: xmpp.JingleCreatorResponder, Transport: clientTransport("bob")}}}
	id = c.iqFrom("bob", info)
	c.awaitResult(id, "bob's transport-info")
	c.bridgeWire.awaitRequest(t, "bob's transport to the bridge", colibriTo(jvb1, updatesEndpoint("bob"))).result(nil)
	c.nothingMore("carol's share waits in bob's batch")
}

// When the delay is over, the batches of accepted sessions go: alice,
// accepted first, learns of bob's sources from the timer.
func TestBatchesGoWhenTheDelayIsOver(t *testing.T) {
	_, c := batchedConference(t, 20*time.Millisecond)
	aliceThenBobAccept(t, c)
	add := c.wire.awaitRequest(t, "source-add to alice, after the delay", jingleTo(c.occupant("alice"), xmpp.JingleSourceAdd))
	add.result(nil)
	if got := ssrcsIn(jingleOf(add.el)); !reflect.DeepEqual(got, map[string][]int64{c.occupant("bob"): {2001, 2002}}) {
		t.Errorf("source-add to alice: %v, want bob's", got)
	}
	// bob leaves: alice is told, after the delay again.
	c.leaves("bob")
	rm := c.wire.awaitRequest(t, "source-remove to alice", jingleTo(c.occupant("alice"), xmpp.JingleSourceRemove))
	rm.result(nil)
	if got := ssrcsIn(jingleOf(rm.el)); !reflect.DeepEqual(got, map[string][]int64{c.occupant("bob"): {2001, 2002}}) {
		t.Errorf("source-remove to alice: %v, want bob's", got)
	}
	c.bridgeWire.awaitRequest(t, "bob's endpoint expired", colibriTo(jvb1, expiresEndpoint("bob"))).result(nil)
	c.nothingMore("bob gone")
}

// A batch pending when the owner is lost is in the replica's state, and
// the next owner sends it, once: alice accepted before bob, so bob's
// sources wait in her batch (an hour on the old owner); the new owner,
// whose delay is short, sends them.
func TestAPendingBatchIsSentOnceByTheNextOwner(t *testing.T) {
	h, owner := batchedConference(t, time.Hour, func(c *Config) { c.Node = "node1" })
	owner.send(&ReplicaIs{PID: owner.recPID})
	r := &replicaView{}
	r.barrier(owner, "the replica named")
	offers := aliceThenBobAccept(t, owner)
	owner.nothingMore("alice's batch waits")
	r.check(owner, "alice's batch pending")
	alice := memberOf(r.latest, "alice")
	if len(alice.GetPendingAdd()) != 1 || alice.GetPendingAdd()[0].Endpoint != "bob" || len(alice.GetPendingRemove()) != 0 {
		t.Fatalf("the replica's alice: pending add %v, remove %v; want bob's sources to add", alice.GetPendingAdd(), alice.GetPendingRemove())
	}
	if bob := memberOf(r.latest, "bob"); len(bob.GetPendingAdd()) != 0 {
		t.Errorf("the replica's bob: pending %v, want nothing (sent on acceptance)", bob.GetPendingAdd())
	}

	h.cfg.SourceSignalingDelays = SignalingDelays{1: 20 * time.Millisecond}
	s := h.standby(owner.room, r.latest)
	s.promote(true)
	add := s.wire.awaitRequest(t, "source-add to alice, from the new owner", jingleTo(s.occupant("alice"), xmpp.JingleSourceAdd))
	add.result(nil)
	if j := jingleOf(add.el); j.SID != offers["alice"].SID || !reflect.DeepEqual(ssrcsIn(j), map[string][]int64{s.occupant("bob"): {2001, 2002}}) {
		t.Errorf("source-add to alice from the new owner: sid %s, %v; want %s, bob's", j.SID, ssrcsIn(j), offers["alice"].SID)
	}
	s.nothingMore("the batch sent once")
	if m, _ := s.snapshot().member("alice"); m.JingleState != "active" {
		t.Errorf("alice on the new owner: %+v", m)
	}
	owner.nothingMore("the old owner, whose delay has not passed")
}
