package testclient

import (
	"context"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"

	"focal/media/offer"
	"focal/media/sources"
	"focal/xmpp"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	testRoom      = "room1@conference.meet.jitsi"
	testFocus     = testRoom + "/focus"
	testInitiator = "focus@auth.meet.jitsi/focus"
	testSID       = "sid-1"
)

func shortCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// peerSources are another endpoint's: a microphone and a camera with RTX.
func peerSources() sources.Set {
	return sources.Set{
		Sources: []sources.Source{
			{SSRC: 111, Media: sources.Audio, Name: "peer1-a0", MSID: "peer1-audio-0 t1"},
			{SSRC: 222, Media: sources.Video, Name: "peer1-v0", MSID: "peer1-video-0 t2", VideoType: sources.VideoCamera},
			{SSRC: 223, Media: sources.Video, Name: "peer1-v0", MSID: "peer1-video-0 t2", VideoType: sources.VideoCamera},
		},
		Groups: []sources.Group{{Semantics: xmpp.JingleSemanticsFID, Media: sources.Video, SSRCs: []int64{222, 223}}},
	}
}

// bridgeSources are the bridge's feedback sources, as the focus signals them.
func bridgeSources() sources.Set {
	return sources.Set{Sources: []sources.Source{
		{SSRC: 900, Media: sources.Audio, Name: "jvb-a0", MSID: "mixedmslabel mixedlabelaudio0"},
		{SSRC: 901, Media: sources.Video, Name: "jvb-v0", MSID: "mixedmslabel mixedlabelvideo0"},
	}}
}

// mySources are fixed, so that the tests are deterministic.
func mySources() *sources.Set {
	return &sources.Set{
		Sources: []sources.Source{
			{SSRC: 1001, Media: sources.Audio, Name: "alice-a0", MSID: "alice-audio-0 a"},
			{SSRC: 2001, Media: sources.Video, Name: "alice-v0", MSID: "alice-video-0 v", VideoType: sources.VideoCamera},
			{SSRC: 2002, Media: sources.Video, Name: "alice-v0", MSID: "alice-video-0 v", VideoType: sources.VideoCamera},
		},
		Groups: []sources.Group{{Semantics: xmpp.JingleSemanticsFID, Media: sources.Video, SSRCs: []int64{2001, 2002}}},
	}
}

func bridgeTransport() *xmpp.JingleICETransport {
	return &xmpp.JingleICETransport{
		Ufrag: "bridgeufrag", Pwd: "bridgepwd",
		Fingerprints: []xmpp.JingleFingerprint{{Hash: "sha-256", Setup: xmpp.JingleSetupActPass, Value: "AA:BB"}},
		Candidates: []xmpp.JingleCandidate{{Component: 1, Foundation: "1", IP: "10.0.0.5", Port: 10000,
			Priority: 2130706431, Protocol: "udp", Type: "host"}},
	}
}

// offerIQ is a session-initiate as the focus sends it, with sources as
// elements, or as JSON when json is set.
func offerIQ(t *testing.T, sid string, json bool) *xmpp.Element {
	t.Helper()
	j := offer.New(sid, testInitiator, offer.DefaultOptions())
	offer.UseBridgeTransport(j, bridgeTransport(), 5000)
	j.BridgeSession = &xmpp.JingleBridgeSession{ID: "bs-1", Region: "eu"}
	j.StartMuted = &xmpp.JingleStartMuted{Audio: true}
	others := map[string]sources.Set{"peer1": peerSources(), sources.OwnerBridge: bridgeSources()}
	if json {
		j.JSONMessage = sources.NewJSONMessage(others)
	} else {
		j.Contents = sources.JingleContentsWith(j.Contents, others)
	}
	return focusIQ(t, j)
}

func focusIQ(t *testing.T, j *xmpp.Jingle) *xmpp.Element {
	t.Helper()
	el, err := xmpp.ElementOf(j)
	if err != nil {
		t.Fatal(err)
	}
	return xmpp.NewIQ(xmpp.IQSet, testFocus, "alice@meet.jitsi/res", "", el)
}

func parseIQ(t *testing.T, s string) *xmpp.Element {
	t.Helper()
	el, err := xmpp.Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return el
}

// mustResult fails unless resp is an IQ result.
func mustResult(t *testing.T, resp *xmpp.Element) {
	t.Helper()
	if resp == nil || resp.AttrValue("type") != xmpp.IQResult {
		t.Fatalf("answer = %v, want a result", resp)
	}
}

func TestOfferIsRecordedWithTransportBridgeSessionAndSourcesByOwner(t *testing.T) {
	for _, json := range []bool{false, true} {
		m := newMedia(nil, MediaOptions{Nick: "alice", Sources: mySources()})
		resp, then := m.handleIQ(offerIQ(t, testSID, json))
		mustResult(t, resp)
		if then == nil {
			t.Fatal("no session-accept follows the result")
		}
		o, err := m.AwaitSession(shortCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		if o.SID != testSID || o.Initiator != testInitiator || o.From != testFocus || o.JSONSources != json {
			t.Errorf("json=%v: offer = sid %q initiator %q from %q json %v", json, o.SID, o.Initiator, o.From, o.JSONSources)
		}
		if o.Transport == nil || o.Transport.Ufrag != "bridgeufrag" || o.Transport.Fingerprints[0].Setup != xmpp.JingleSetupActPass {
			t.Errorf("json=%v: transport = %+v", json, o.Transport)
		}
		if o.BridgeSessionID() != "bs-1" || o.StartMuted == nil || !o.StartMuted.Audio || o.StartMuted.Video {
			t.Errorf("json=%v: bridge session %q, startmuted %+v", json, o.BridgeSessionID(), o.StartMuted)
		}
		for owner, want := range map[string]sources.Set{"peer1": peerSources(), sources.OwnerBridge: bridgeSources()} {
			if json {
				want = withoutCameraType(want)
			}
			if got := m.RemoteSources()[owner]; !sameSet(got, want) {
				t.Errorf("json=%v: sources of %s = %+v, want %+v", json, owner, got, want)
			}
		}
		if m.Sessions() != 1 || m.SID() != testSID || m.Owner() != testRoom+"/alice" {
			t.Errorf("json=%v: sessions %d, sid %q, owner %q", json, m.Sessions(), m.SID(), m.Owner())
		}
	}
}

func TestSessionAcceptAnswersTheOfferWithOwnSourcesAndTransport(t *testing.T) {
	m := newMedia(nil, MediaOptions{Nick: "alice", Sources: mySources()})
	m.handleIQ(offerIQ(t, testSID, false))
	offer, _ := m.Session()
	lastN := 7
	mine := newLocalTransport(40000)
	j := buildAnswer(offer, answer{
		action: xmpp.JingleSessionAccept, responder: "alice@meet.jitsi/res", owner: testRoom + "/alice",
		sources: *mySources(), transport: mine, initialLastN: &lastN,
	})
	// Through XML and back, as the focus reads it.
	el, err := xmpp.ElementOf(j)
	if err != nil {
		t.Fatal(err)
	}
	var got xmpp.Jingle
	if err := el.Decode(&got); err != nil {
		t.Fatal(err)
	}

	if got.Action != xmpp.JingleSessionAccept || got.SID != testSID || got.Initiator != testInitiator || got.Responder != "alice@meet.jitsi/res" {
		t.Errorf("header = %s sid %q initiator %q responder %q", got.Action, got.SID, got.Initiator, got.Responder)
	}
	var names []string
	for _, c := range got.Contents {
		names = append(names, c.Name)
		if c.Creator != xmpp.JingleCreatorResponder || c.Senders != xmpp.JingleSendersBoth {
			t.Errorf("content %s: creator %q senders %q", c.Name, c.Creator, c.Senders)
		}
		tr := c.Transport
		if tr == nil || tr.Ufrag != mine.Ufrag || tr.Pwd != mine.Pwd || len(tr.Fingerprints) != 1 ||
			tr.Fingerprints[0].Setup != xmpp.JingleSetupActive || tr.Fingerprints[0].Value != mine.Fingerprints[0].Value ||
			len(tr.Candidates) != 1 || tr.Candidates[0].IP != "127.0.0.1" || tr.Candidates[0].Port != 40000 {
			t.Errorf("content %s: transport %+v", c.Name, tr)
		}
		if c.Name == xmpp.JingleContentData {
			if c.Description != nil || tr == nil || tr.SCTPMap == nil || tr.SCTPMap.Number != 5000 {
				t.Errorf("data content: description %+v, transport %+v", c.Description, tr)
			}
			continue
		}
		if c.Description == nil || len(c.Description.PayloadTypes) == 0 || c.Description.RTCPMux == nil {
			t.Errorf("content %s: description %+v", c.Name, c.Description)
			continue
		}
		for _, s := range c.Description.Sources {
			if s.SSRCInfo == nil || s.SSRCInfo.Owner != testRoom+"/alice" {
				t.Errorf("content %s: source %d has ssrc-info %+v", c.Name, s.SSRC, s.SSRCInfo)
			}
		}
	}
	if !slices.Equal(names, []string{"audio", "video", "data"}) {
		t.Errorf("contents = %v", names)
	}
	if n, ok := got.InitialLastN(); !ok || n != 7 {
		t.Errorf("initial-last-n = %d, %v", n, ok)
	}
	if len(got.Groups) != 1 || got.Groups[0].Semantics != xmpp.JingleGroupBundle || len(got.Groups[0].Contents) != 3 {
		t.Errorf("groups = %+v", got.Groups)
	}
	// Only our sources, none of the offer's.
	set, err := sources.FromJingle(got.Contents)
	if err != nil {
		t.Fatal(err)
	}
	if !sameSet(set, *mySources()) {
		t.Errorf("sources = %+v, want %+v", set, *mySources())
	}
}

func TestAnswerLeavesOutSourcesOfMediaNotOffered(t *testing.T) {
	j := offer.New(testSID, testInitiator, offer.Options{Audio: true})
	o, err := parseOffer(testFocus, j)
	if err != nil {
		t.Fatal(err)
	}
	got := buildAnswer(o, answer{action: xmpp.JingleSessionAccept, owner: "o", sources: *mySources(), transport: newLocalTransport(0)})
	if len(got.Contents) != 1 || got.Contents[0].Name != "audio" {
		t.Fatalf("contents = %+v", got.Contents)
	}
	set, _ := sources.FromJingle(got.Contents)
	if !slices.Equal(set.SSRCs(""), []int64{1001}) || len(set.Groups) != 0 {
		t.Errorf("sources = %+v", set)
	}
}

func TestSourceAddAndRemoveFromTheFocusUpdateTheRemoteView(t *testing.T) {
	m := newMedia(nil, MediaOptions{Nick: "alice", Sources: mySources()})
	m.handleIQ(offerIQ(t, testSID, false))
	ctx := shortCtx(t)

	// As elements, a screen share with RTX, the way the focus relays it.
	resp, _ := m.handleIQ(parseIQ(t, `<iq type="set" id="a1" from="`+testFocus+`" to="alice@meet.jitsi/res">
  <jingle xmlns="urn:xmpp:jingle:1" action="source-add" sid="`+testSID+`">
    <content name="video">
      <description xmlns="urn:xmpp:jingle:apps:rtp:1" media="video">
        <source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" name="bob-v1" ssrc="3001" videoType="desktop">
          <ssrc-info xmlns="http://jitsi.org/jitmeet" owner="bob"/>
          <parameter name="msid" value="bob-video-1 d"/>
        </source>
        <source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" name="bob-v1" ssrc="3002" videoType="desktop">
          <ssrc-info xmlns="http://jitsi.org/jitmeet" owner="bob"/>
          <parameter name="msid" value="bob-video-1 d"/>
        </source>
        <ssrc-group xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" semantics="FID">
          <source ssrc="3001"/>
          <source ssrc="3002"/>
        </ssrc-group>
      </description>
    </content>
  </jingle>
</iq>`))
	mustResult(t, resp)
	if err := m.AwaitRemoteSSRC(ctx, 3002); err != nil {
		t.Fatal(err)
	}
	bob := m.RemoteSources()["bob"]
	if len(bob.Sources) != 2 || len(bob.Groups) != 1 || bob.Sources[0].VideoType != sources.VideoDesktop {
		t.Errorf("bob = %+v", bob)
	}

	// As JSON, from an endpoint the focus had not mentioned yet.
	resp, _ = m.handleIQ(parseIQ(t, `<iq type="set" id="a2" from="`+testFocus+`" to="alice@meet.jitsi/res">
  <jingle xmlns="urn:xmpp:jingle:1" action="source-add" sid="`+testSID+`">
    <json-message xmlns="http://jitsi.org/jitmeet">{"sources":{"carol":[[],[],[{"s":4001,"n":"carol-a0","m":"carol-audio-0 c"}]]}}</json-message>
  </jingle>
</iq>`))
	mustResult(t, resp)
	if err := m.AwaitRemoteSSRC(ctx, 4001); err != nil {
		t.Fatal(err)
	}

	// A removal names the SSRC; its group goes with it.
	resp, _ = m.handleIQ(parseIQ(t, `<iq type="set" id="r1" from="`+testFocus+`" to="alice@meet.jitsi/res">
  <jingle xmlns="urn:xmpp:jingle:1" action="removesource" sid="`+testSID+`">
    <content name="video">
      <description xmlns="urn:xmpp:jingle:apps:rtp:1" media="video">
        <source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="3001"><ssrc-info xmlns="http://jitsi.org/jitmeet" owner="bob"/></source>
      </description>
    </content>
  </jingle>
</iq>`))
	mustResult(t, resp)
	if err := m.AwaitRemoteSSRCGone(ctx, 3001); err != nil {
		t.Fatal(err)
	}
	if bob := m.RemoteSources()["bob"]; len(bob.Sources) != 1 || len(bob.Groups) != 0 {
		t.Errorf("bob after removal = %+v", bob)
	}
	want := []xmpp.JingleAction{xmpp.JingleSessionInitiate, xmpp.JingleSourceAdd, xmpp.JingleSourceAdd, xmpp.JingleRemoveSource}
	if got := m.Actions(); !slices.Equal(got, want) {
		t.Errorf("actions = %v, want %v", got, want)
	}
}

func TestRequestsForAnotherOrEndedSessionAreUnknown(t *testing.T) {
	m := newMedia(nil, MediaOptions{Nick: "alice", Sources: mySources()})
	m.handleIQ(offerIQ(t, testSID, false))

	add := &xmpp.Jingle{Action: xmpp.JingleSourceAdd, SID: "other", Contents: peerSources().JingleContents("x")}
	resp, _ := m.handleIQ(focusIQ(t, add))
	if se, ok := xmpp.ErrorOf(resp); !ok || se.Condition != xmpp.ItemNotFound {
		t.Errorf("source-add for another sid answered %v", resp)
	}

	term := &xmpp.Jingle{Action: xmpp.JingleSessionTerminate, SID: testSID,
		Reason: &xmpp.JingleReason{Condition: xmpp.JingleReasonSuccess, Text: "moving"}}
	resp, _ = m.handleIQ(focusIQ(t, term))
	mustResult(t, resp)
	reason, err := m.AwaitEnded(shortCtx(t))
	if err != nil || reason == nil || reason.Condition != xmpp.JingleReasonSuccess || reason.Text != "moving" {
		t.Errorf("ended with %+v, %v", reason, err)
	}
	add.SID = testSID
	resp, _ = m.handleIQ(focusIQ(t, add))
	if se, ok := xmpp.ErrorOf(resp); !ok || se.Condition != xmpp.ItemNotFound {
		t.Errorf("source-add after the end answered %v", resp)
	}
	if err := m.SendTerminate(shortCtx(t), false); err == nil {
		t.Error("SendTerminate of an ended session succeeded")
	}

	// A restart: the next session is a new one.
	m.handleIQ(offerIQ(t, "sid-2", false))
	if _, err := m.AwaitSession(shortCtx(t)); err != nil {
		t.Fatal(err)
	}
	o, err := m.AwaitSession(shortCtx(t))
	if err != nil || o.SID != "sid-2" || m.Sessions() != 2 || m.Ended() {
		t.Errorf("second session: %q, %v; sessions %d, ended %v", o.SID, err, m.Sessions(), m.Ended())
	}
}

func TestSilentAndRejectingEndpointsDoNotAccept(t *testing.T) {
	silent := newMedia(nil, MediaOptions{Silent: true})
	resp, then := silent.handleIQ(offerIQ(t, testSID, false))
	mustResult(t, resp)
	if then != nil {
		t.Error("a silent endpoint follows up")
	}
	if err := silent.AwaitAccepted(shortCtx(t)); err == nil {
		t.Error("AwaitAccepted succeeded without a session-accept")
	}

	rejecting := newMedia(nil, MediaOptions{RejectInitiate: true})
	resp, then = rejecting.handleIQ(offerIQ(t, testSID, false))
	if se, ok := xmpp.ErrorOf(resp); !ok || se.Condition != xmpp.NotAcceptable || then != nil {
		t.Errorf("rejecting endpoint answered %v (follow-up %v)", resp, then != nil)
	}
	if !rejecting.Ended() || rejecting.Sessions() != 1 {
		t.Errorf("rejected session: ended %v, sessions %d", rejecting.Ended(), rejecting.Sessions())
	}
}

func TestDiscoInfoAdvertisesTheConfiguredFeatures(t *testing.T) {
	get := xmpp.NewIQ(xmpp.IQGet, testFocus, "alice@meet.jitsi/res", "d1", xmpp.NewElement(NSDiscoInfo, "query"))
	for _, c := range []struct {
		opts MediaOptions
		want []string
	}{
		{MediaOptions{}, DefaultFeatures()},
		{MediaOptions{JSONSources: true}, append(DefaultFeatures(), FeatureJSONSources)},
		{MediaOptions{Features: []string{FeatureAudio}}, []string{FeatureAudio}},
	} {
		resp, _ := newMedia(nil, c.opts).handleIQ(get)
		mustResult(t, resp)
		var got []string
		for _, f := range resp.Child(NSDiscoInfo, "query").ChildrenNamed(NSDiscoInfo, "feature") {
			got = append(got, f.AttrValue("var"))
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%+v: features %v, want %v", c.opts, got, c.want)
		}
	}
}

func TestDefaultSourcesAreNamedUniqueAndValid(t *testing.T) {
	conf := sources.NewMap(sources.Validator{})
	seen := map[int64]bool{}
	for _, nick := range []string{"alice", "bob"} {
		m := newMedia(nil, MediaOptions{Nick: nick, Simulcast: true, RTX: true})
		set := m.LocalSources()
		if len(set.SSRCs(sources.Audio)) != 1 || len(set.SSRCs(sources.Video)) != 6 || len(set.Groups) != 4 {
			t.Errorf("%s: sources %+v", nick, set)
		}
		for _, s := range set.Sources {
			want := sources.DefaultName(nick, s.Media, 0)
			if s.Name != want || s.MSID == "" || seen[s.SSRC] || s.SSRC <= 0 || s.SSRC > 1<<32-1 {
				t.Errorf("%s: source %+v (want name %s, a fresh ssrc)", nick, s, want)
			}
			seen[s.SSRC] = true
		}
		if _, err := conf.TryAdd(nick, set); err != nil {
			t.Errorf("%s: the focus would refuse the default sources: %v", nick, err)
		}
	}
}

// sameSet compares source sets ignoring order.
func sameSet(a, b sources.Set) bool {
	return len(a.Sources) == len(b.Sources) && len(a.Groups) == len(b.Groups) &&
		a.Minus(b).Empty() && b.Minus(a).Empty()
}

// withoutCameraType is set as the JSON encoding carries it: only desktop
// video is marked.
func withoutCameraType(set sources.Set) sources.Set {
	set = set.Clone()
	for i := range set.Sources {
		if set.Sources[i].VideoType == sources.VideoCamera {
			set.Sources[i].VideoType = ""
		}
	}
	return set
}
