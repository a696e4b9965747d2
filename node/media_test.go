package node_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"focal/actors/conference"
	"focal/bench/bridgesim"
	"focal/internal/testclient"
	"focal/media/sources"
	"focal/xmpp"
)

// member is one simulated Jitsi Meet participant: a real XMPP client in the
// room with a media endpoint answering the focus's Jingle.
type member struct {
	c     *testclient.Client
	media *testclient.Media
	nick  string
}

// join requests the conference, joins room as nick and returns the
// participant; its media endpoint answers from the start.
func (h *harness) join(ctx context.Context, room, nick string, opts testclient.MediaOptions) *member {
	h.t.Helper()
	c := h.client(ctx)
	opts.Nick = nick
	m := &member{c: c, media: testclient.NewMedia(c, opts), nick: nick}
	if _, err := c.RequestConference(ctx, h.component(), xmpp.ConferenceIQ{Room: room}); err != nil {
		h.t.Fatalf("%s: conference request: %v", nick, err)
	}
	if _, err := c.Join(ctx, room, nick); err != nil {
		h.t.Fatalf("%s: join: %v", nick, err)
	}
	return m
}

// awaitSession waits for the member's next session-initiate and its
// session-accept being answered.
func (m *member) awaitSession(ctx context.Context, t *testing.T) testclient.Offer {
	t.Helper()
	offer, err := m.media.AwaitSession(ctx)
	if err != nil {
		t.Fatalf("%s: no session-initiate: %v", m.nick, err)
	}
	return offer
}

func (m *member) awaitSSRCs(ctx context.Context, t *testing.T, of *member) {
	t.Helper()
	for _, ssrc := range of.media.SSRCs() {
		if err := m.media.AwaitRemoteSSRC(ctx, ssrc); err != nil {
			t.Fatalf("%s never learnt %s's SSRC %d: %v (remote: %v)", m.nick, of.nick, ssrc, err, m.media.RemoteSources())
		}
	}
}

// endpoint returns the participant's endpoint on b once cond holds for it.
func awaitEndpoint(ctx context.Context, t *testing.T, b *bridgesim.Bridge, nick string, cond func(bridgesim.Endpoint) bool) bridgesim.Endpoint {
	t.Helper()
	var found bridgesim.Endpoint
	_, err := b.Await(ctx, func(st bridgesim.State) bool {
		for _, conf := range st.Conferences {
			if ep, ok := conf.Endpoints[nick]; ok && cond(ep) {
				found = ep
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("endpoint %s on %s: %v", nick, b.Nick(), err)
	}
	return found
}

func hasTransport(ep bridgesim.Endpoint) bool { return ep.Transport != nil }

func sourceCount(ep bridgesim.Endpoint) int {
	n := 0
	if ep.Sources != nil {
		for _, ms := range ep.Sources.MediaSources {
			n += len(ms.Sources)
		}
	}
	return n
}

func TestTwoParticipantsGetSessionsOnTheLessLoadedBridge(t *testing.T) {
	h := newHarness(t, withBrewery)
	ctx := testContext(t, 30*time.Second)
	busy := h.readyBridge(ctx, "jvb-busy", bridgesim.Stats{StressLevel: 0.7})
	idle := h.readyBridge(ctx, "jvb-idle", bridgesim.Stats{StressLevel: 0.1})
	room := h.room("media-two")

	alice := h.join(ctx, room, "alice", testclient.MediaOptions{})
	bob := h.join(ctx, room, "bob", testclient.MediaOptions{})
	offerA, offerB := alice.awaitSession(ctx, t), bob.awaitSession(ctx, t)

	// Both offers carry the idle bridge's transport for their own endpoint.
	confs := idle.Conferences()
	if len(confs) != 1 || len(busy.Conferences()) != 0 {
		t.Fatalf("conferences: idle %d, busy %d; want 1 and 0", len(confs), len(busy.Conferences()))
	}
	for _, conf := range confs {
		if conf.Name != room {
			t.Errorf("colibri conference name = %q, want %q", conf.Name, room)
		}
	}
	for _, o := range []testclient.Offer{offerA, offerB} {
		if o.Transport == nil || o.Transport.Ufrag == "" || len(o.Transport.Fingerprints) == 0 || len(o.Transport.Candidates) == 0 {
			t.Fatalf("offer transport = %+v", o.Transport)
		}
		if o.BridgeSessionID() == "" {
			t.Errorf("offer without bridge-session")
		}
		if o.Jingle.Content(xmpp.JingleContentData) == nil || o.Jingle.Content(xmpp.JingleContentAudio) == nil {
			t.Errorf("offer contents = %+v", o.Jingle.Contents)
		}
		if fb := o.Sources[sources.OwnerBridge]; fb.Empty() {
			t.Errorf("offer lacks the bridge's feedback sources: %v", o.Sources)
		}
	}
	if offerA.Transport.Ufrag == offerB.Transport.Ufrag {
		t.Errorf("both endpoints got the same ICE credentials")
	}

	// session-accept reaches the bridge (transport and sources) and the
	// other participant (source-add).
	awaitEndpoint(ctx, t, idle, "alice", func(ep bridgesim.Endpoint) bool { return hasTransport(ep) && sourceCount(ep) == 2 })
	awaitEndpoint(ctx, t, idle, "bob", func(ep bridgesim.Endpoint) bool { return hasTransport(ep) && sourceCount(ep) == 2 })
	alice.awaitSSRCs(ctx, t, bob)
	bob.awaitSSRCs(ctx, t, alice)
}

func TestThirdParticipantLeaveAndEndOfConference(t *testing.T) {
	h := newHarness(t, withBrewery)
	ctx := testContext(t, 30*time.Second)
	jvb := h.readyBridge(ctx, "jvb1", bridgesim.Stats{StressLevel: 0.1})
	room := h.room("media-three")

	alice := h.join(ctx, room, "alice", testclient.MediaOptions{})
	bob := h.join(ctx, room, "bob", testclient.MediaOptions{JSONSources: true})
	alice.awaitSession(ctx, t)
	bob.awaitSession(ctx, t)
	alice.awaitSSRCs(ctx, t, bob)
	bob.awaitSSRCs(ctx, t, alice)

	// The third participant's offer already carries everybody's sources
	// (as JSON for a client that asks for it, as elements otherwise).
	carol := h.join(ctx, room, "carol", testclient.MediaOptions{JSONSources: true})
	offer := carol.awaitSession(ctx, t)
	if !offer.JSONSources {
		t.Errorf("carol advertised JSON sources but got elements")
	}
	carol.awaitSSRCs(ctx, t, alice)
	carol.awaitSSRCs(ctx, t, bob)
	alice.awaitSSRCs(ctx, t, carol)

	// Leaving expires the endpoint and withdraws the sources from the others.
	if err := carol.c.Leave(room, "carol"); err != nil {
		t.Fatal(err)
	}
	for _, ssrc := range carol.media.SSRCs() {
		if err := alice.media.AwaitRemoteSSRCGone(ctx, ssrc); err != nil {
			t.Fatalf("alice still has carol's SSRC %d: %v", ssrc, err)
		}
		if err := bob.media.AwaitRemoteSSRCGone(ctx, ssrc); err != nil {
			t.Fatalf("bob still has carol's SSRC %d: %v", ssrc, err)
		}
	}
	if _, err := jvb.Await(ctx, func(st bridgesim.State) bool {
		for _, c := range st.Conferences {
			_, present := c.Endpoints["carol"]
			return !present && len(c.Endpoints) == 2
		}
		return false
	}); err != nil {
		t.Fatalf("carol's endpoint not expired: %v", err)
	}

	// The last ones leave: the conference expires on the bridge and the
	// focus leaves the room.
	_ = alice.c.Leave(room, "alice")
	_ = bob.c.Leave(room, "bob")
	if _, err := jvb.Await(ctx, func(st bridgesim.State) bool { return len(st.Conferences) == 0 }); err != nil {
		t.Fatalf("conference not expired on the bridge: %v", err)
	}
	h.awaitDebug(ctx, func(confs []conference.Snapshot) bool {
		for _, c := range confs {
			if c.Room == room {
				return false
			}
		}
		return true
	})
	h.awaitFocusGone(ctx, room)
}

func TestKilledBridgeParticipantsMoveToTheOtherBridge(t *testing.T) {
	h := newHarness(t, withBrewery)
	ctx := testContext(t, 30*time.Second)
	first := h.readyBridge(ctx, "jvb-a", bridgesim.Stats{StressLevel: 0.1})
	room := h.room("media-failover")
	alice := h.join(ctx, room, "alice", testclient.MediaOptions{})
	bob := h.join(ctx, room, "bob", testclient.MediaOptions{})
	before := alice.awaitSession(ctx, t)
	bob.awaitSession(ctx, t)
	alice.awaitSSRCs(ctx, t, bob)
	second := h.readyBridge(ctx, "jvb-b", bridgesim.Stats{StressLevel: 0.5})

	killed := time.Now()
	first.Die()
	moveCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for _, m := range []*member{alice, bob} {
		offer := m.awaitSession(moveCtx, t)
		if offer.BridgeSessionID() == before.BridgeSessionID() {
			t.Errorf("%s re-invited on the same bridge session", m.nick)
		}
		awaitEndpoint(moveCtx, t, second, m.nick, hasTransport)
	}
	t.Logf("participants re-invited on the other bridge %v after the kill", time.Since(killed).Round(time.Millisecond))
	alice.awaitSSRCs(moveCtx, t, bob)
	bob.awaitSSRCs(moveCtx, t, alice)
}

func TestInvalidSourcesAreRejected(t *testing.T) {
	h := newHarness(t, withBrewery)
	ctx := testContext(t, 30*time.Second)
	h.readyBridge(ctx, "jvb1", bridgesim.Stats{StressLevel: 0.1})
	room := h.room("media-invalid")
	alice := h.join(ctx, room, "alice", testclient.MediaOptions{})
	bob := h.join(ctx, room, "bob", testclient.MediaOptions{})
	alice.awaitSession(ctx, t)
	bob.awaitSession(ctx, t)
	if err := alice.media.AwaitAccepted(ctx); err != nil {
		t.Fatal(err)
	}
	if err := bob.media.AwaitAccepted(ctx); err != nil {
		t.Fatal(err)
	}
	taken := bob.media.SSRCs()[0]

	tooMany := sources.Set{}
	for i := range 21 {
		tooMany.Sources = append(tooMany.Sources, sources.Source{SSRC: int64(7000 + i), Media: sources.Audio, Name: "alice-a" + string(rune('a'+i))})
	}
	cases := []struct {
		name string
		set  sources.Set
	}{
		{"ssrc zero", sources.Set{Sources: []sources.Source{{SSRC: 0, Media: sources.Audio, Name: "alice-a9"}}}},
		{"ssrc above 2^32-1", sources.Set{Sources: []sources.Source{{SSRC: 1 << 32, Media: sources.Audio, Name: "alice-a9"}}}},
		{"ssrc of another participant", sources.Set{Sources: []sources.Source{{SSRC: taken, Media: sources.Audio, Name: "alice-a9"}}}},
		{"more than 20 sources", tooMany},
		{"FID group with one ssrc", sources.Set{
			Sources: []sources.Source{{SSRC: 5001, Media: sources.Video, Name: "alice-v9", MSID: "m v"}},
			Groups:  []sources.Group{{Semantics: xmpp.JingleSemanticsFID, Media: sources.Video, SSRCs: []int64{5001}}},
		}},
	}
	for _, tc := range cases {
		err := alice.media.SendSourceAdd(ctx, tc.set)
		if cond := xmpp.ConditionOf(err); cond != xmpp.BadRequest {
			t.Errorf("%s: source-add answered %v (condition %q), want bad-request", tc.name, err, cond)
		}
	}
	// Nothing of it reached bob.
	for _, ssrc := range []int64{0, 1 << 32, 7000, 5001} {
		if _, ok := findSSRC(bob.media.RemoteSources(), ssrc); ok {
			t.Errorf("bob was told about rejected SSRC %d", ssrc)
		}
	}
	// A valid one goes through.
	good := sources.Set{Sources: []sources.Source{{SSRC: 4242, Media: sources.Video, Name: "alice-v1", MSID: "alice-desktop v1", VideoType: sources.VideoDesktop}}}
	if err := alice.media.SendSourceAdd(ctx, good); err != nil {
		t.Fatalf("valid source-add: %v", err)
	}
	if err := bob.media.AwaitRemoteSSRC(ctx, 4242); err != nil {
		t.Fatal(err)
	}
}

func findSSRC(sources map[string]sources.Set, ssrc int64) (string, bool) {
	for owner, set := range sources {
		if _, ok := set.Find(ssrc); ok {
			return owner, true
		}
	}
	return "", false
}

func TestSilentParticipantDoesNotBlockOthers(t *testing.T) {
	h := newHarness(t, withBrewery)
	ctx := testContext(t, 30*time.Second)
	h.readyBridge(ctx, "jvb1", bridgesim.Stats{StressLevel: 0.1})
	room := h.room("media-silent")
	// The silent one never answers disco#info's follow-ups with a
	// session-accept.
	mute := h.join(ctx, room, "silent", testclient.MediaOptions{Silent: true})
	alice := h.join(ctx, room, "alice", testclient.MediaOptions{})
	bob := h.join(ctx, room, "bob", testclient.MediaOptions{})
	mute.awaitSession(ctx, t)
	alice.awaitSession(ctx, t)
	bob.awaitSession(ctx, t)
	alice.awaitSSRCs(ctx, t, bob)
	bob.awaitSSRCs(ctx, t, alice)
}

func TestJingleErrorsAndRestartRateLimit(t *testing.T) {
	h := newHarness(t, withBrewery)
	ctx := testContext(t, 30*time.Second)
	h.readyBridge(ctx, "jvb1", bridgesim.Stats{StressLevel: 0.1})
	room := h.room("media-errors")
	alice := h.join(ctx, room, "alice", testclient.MediaOptions{})
	bob := h.join(ctx, room, "bob", testclient.MediaOptions{})
	first := alice.awaitSession(ctx, t)
	bob.awaitSession(ctx, t)
	if err := alice.media.AwaitAccepted(ctx); err != nil {
		t.Fatal(err)
	}

	focusOccupant := room + "/focus"
	send := func(j *xmpp.Jingle) error {
		el, err := xmpp.ElementOf(j)
		if err != nil {
			t.Fatal(err)
		}
		_, err = alice.c.S.RequestWait(ctx, xmpp.NewIQ(xmpp.IQSet, "", focusOccupant, "", el))
		return err
	}
	if err := send(&xmpp.Jingle{Action: xmpp.JingleSourceAdd, SID: "no-such-session"}); xmpp.ConditionOf(err) != xmpp.ItemNotFound {
		t.Errorf("unknown sid: %v, want item-not-found", err)
	}
	if err := send(&xmpp.Jingle{Action: xmpp.JingleContentAdd, SID: first.SID}); xmpp.ConditionOf(err) != xmpp.FeatureNotImplemented {
		t.Errorf("unknown action: %v, want feature-not-implemented", err)
	}
	if _, err := alice.c.S.RequestWait(ctx, xmpp.NewIQ(xmpp.IQSet, "", focusOccupant, "",
		xmpp.NewElement(xmpp.JingleNS, "jingle", "action", "session-info", "sid", first.SID).Append(
			xmpp.NewElement(xmpp.JingleNS, "content", "name", "audio").Append(xmpp.NewElement(xmpp.JingleNSRTP, "description", "media", "audio").Append(
				xmpp.NewElement(xmpp.JingleNSSSMA, "source", "ssrc", "not-a-number")))))); xmpp.ConditionOf(err) != xmpp.BadRequest {
		t.Errorf("malformed jingle: %v, want bad-request", err)
	}

	// ICE failed → a new session on a new endpoint.
	if err := alice.media.SendSessionInfoICEFailed(ctx); err != nil {
		t.Fatalf("ICE failed: %v", err)
	}
	second := alice.awaitSession(ctx, t)
	if second.SID == first.SID {
		t.Fatalf("no new session after ICE failed")
	}
	bob.awaitSSRCs(ctx, t, alice) // alice's sources are back after the new accept

	// A restart right after (< 5 s) is refused, and the session is over.
	err := alice.media.SendTerminate(ctx, true)
	if xmpp.ConditionOf(err) != xmpp.ResourceConstraint {
		t.Fatalf("restart within 5 s: %v, want resource-constraint", err)
	}
	var se xmpp.StanzaError
	if !errors.As(err, &se) || se.Text != "rate-limited" {
		t.Errorf("restart refusal text = %+v", se)
	}
}

// A bridge that keeps its XMPP session but stops answering (jicofo#1050)
// fails its health checks; its conferences move rather than stay stuck.
func TestHungBridgeParticipantsMoveToTheOtherBridge(t *testing.T) {
	h := newHarness(t, withBrewery)
	ctx := testContext(t, 30*time.Second)
	first := h.readyBridge(ctx, "jvb-a", bridgesim.Stats{StressLevel: 0.1})
	room := h.room("media-hung")
	alice := h.join(ctx, room, "alice", testclient.MediaOptions{})
	bob := h.join(ctx, room, "bob", testclient.MediaOptions{})
	alice.awaitSession(ctx, t)
	bob.awaitSession(ctx, t)
	second := h.readyBridge(ctx, "jvb-b", bridgesim.Stats{StressLevel: 0.5})

	hung := time.Now()
	first.Hang()
	moveCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for _, m := range []*member{alice, bob} {
		m.awaitSession(moveCtx, t)
		awaitEndpoint(moveCtx, t, second, m.nick, hasTransport)
	}
	t.Logf("participants moved off the hung bridge %v after it hung (health interval 300 ms)", time.Since(hung).Round(time.Millisecond))
	alice.awaitSSRCs(moveCtx, t, bob)
	bob.awaitSSRCs(moveCtx, t, alice)
}

// An in-place ICE restart keeps the session: the bridge hands out new ICE
// credentials (a higher ICE generation) and the client gets them in a
// transport-info; a second request right after is rate-limited.
func TestICERestartGivesTheClientTheBridgesNewCredentials(t *testing.T) {
	h := newHarness(t, withBrewery)
	ctx := testContext(t, 30*time.Second)
	jvb := h.readyBridge(ctx, "jvb1", bridgesim.Stats{StressLevel: 0.1})
	room := h.room("media-ice-restart")
	alice := h.join(ctx, room, "alice", testclient.MediaOptions{})
	bob := h.join(ctx, room, "bob", testclient.MediaOptions{})
	first := alice.awaitSession(ctx, t)
	bob.awaitSession(ctx, t)
	if err := alice.media.AwaitAccepted(ctx); err != nil {
		t.Fatal(err)
	}
	awaitEndpoint(ctx, t, jvb, "alice", hasTransport)

	if err := alice.media.SendSessionInfoICERestart(ctx); err != nil {
		t.Fatalf("ICE restart: %v", err)
	}
	ep := awaitEndpoint(ctx, t, jvb, "alice", func(ep bridgesim.Endpoint) bool {
		return ep.Local != nil && ep.Local.ICEGeneration == 1
	})
	for {
		if tr := alice.media.RemoteTransport(); tr != nil && tr.Ufrag == ep.Local.Ufrag {
			if tr.Ufrag == first.Transport.Ufrag || tr.Pwd != ep.Local.Pwd || tr.ICEGeneration != 1 {
				t.Errorf("transport after the ICE restart %+v, want the bridge's new one %+v", tr, ep.Local)
			}
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("alice never got the bridge's new credentials (has %+v, actions %v)", alice.media.RemoteTransport(), alice.media.Actions())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if alice.media.SID() != first.SID || alice.media.Sessions() != 1 || alice.media.Ended() {
		t.Errorf("alice's session after the ICE restart: sid %q (was %q), %d sessions, ended %v",
			alice.media.SID(), first.SID, alice.media.Sessions(), alice.media.Ended())
	}

	err := alice.media.SendSessionInfoICERestart(ctx)
	if xmpp.ConditionOf(err) != xmpp.ResourceConstraint {
		t.Fatalf("ICE restart within 5 s: %v, want resource-constraint", err)
	}
}
