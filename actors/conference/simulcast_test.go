package conference

import (
	"slices"
	"testing"

	"focal/media/sources"
	"focal/xmpp"
)

// simulcastCamera is a camera of nick sending three simulcast layers, each
// with a retransmission stream: SSRCs base+1..3 (layers), base+4..6 (RTX).
func simulcastCamera(nick string, base int64) sources.Set {
	set := sources.Set{Groups: []sources.Group{{Semantics: xmpp.JingleSemanticsSIM, Media: sources.Video, SSRCs: []int64{base + 1, base + 2, base + 3}}}}
	for i := range int64(3) {
		for _, ssrc := range []int64{base + 1 + i, base + 4 + i} {
			set.Sources = append(set.Sources, sources.Source{SSRC: ssrc, Media: sources.Video, Name: nick + "-v1", MSID: nick + "-video-2 v2-" + nick, VideoType: sources.VideoCamera})
		}
		set.Groups = append(set.Groups, sources.Group{Semantics: xmpp.JingleSemanticsFID, Media: sources.Video, SSRCs: []int64{base + 1 + i, base + 4 + i}})
	}
	return set
}

// sorted returns a sorted copy.
func sorted(s []int64) []int64 {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// Receivers are told the first layer of a simulcast camera and its RTX,
// without the SIM group, in a source-add (ssma elements or JSON) and in the
// session-initiate of a newcomer; the bridge gets every layer.
func TestReceiversAreToldTheFirstSimulcastLayerOnly(t *testing.T) {
	h := newHarness(t)
	c := h.joined("room1@conference.meet.example.com")
	sids := twoInCall(t, c)

	cam := simulcastCamera("alice", 5000)
	c.awaitResult(c.sourceChange("alice", sids["alice"], xmpp.JingleSourceAdd, cam), "alice's simulcast source-add")
	upd := c.bridgeWire.awaitRequest(t, "alice's update", colibriTo(jvb1, updatesEndpoint("alice")))
	upd.result(nil)
	if got := colibriSSRCs(colibriOf(upd.el).Endpoint("alice")); !slices.Equal(got, ssrcs(sourcesOf("alice", 1000).Union(cam))) {
		t.Errorf("alice's sources on the bridge: %v, want every layer", got)
	}
	add := c.wire.awaitRequest(t, "source-add to bob", jingleTo(c.occupant("bob"), xmpp.JingleSourceAdd))
	add.result(nil)
	j := jingleOf(add.el)
	if got := sorted(ssrcsIn(j)[c.occupant("alice")]); !slices.Equal(got, []int64{5001, 5004}) {
		t.Errorf("source-add to bob carries %v of alice's, want the first layer and its RTX [5001 5004]", got)
	}
	told, err := sources.FromJingle(j.Contents)
	if err != nil {
		t.Fatal(err)
	}
	if len(told.Groups) != 1 || told.Groups[0].Semantics != xmpp.JingleSemanticsFID {
		t.Errorf("source-add to bob has groups %v, want the first layer's FID only", told.Groups)
	}

	// A newcomer reading JSON sources is told the same in its offer.
	c.joins("carol", "carol@"+testDomain+"/web")
	c.ready("carol", append(slices.Clone(defaultFeatures), "http://jitsi.org/json-encoded-sources")...)
	c.answerSelect(jvb1)
	c.allocate("carol", jvb1)
	offer := c.awaitInitiate("carol")
	if offer.JSONMessage == nil {
		t.Fatal("carol's offer has no JSON sources")
	}
	byOwner, err := sources.DecodeJSON(offer.JSONMessage.Text)
	if err != nil {
		t.Fatal(err)
	}
	alice := byOwner["alice"]
	if got := ssrcs(alice); !slices.Equal(got, []int64{1001, 1002, 5001, 5004}) {
		t.Errorf("carol's offer carries alice's %v, want audio, the plain camera, the first layer and its RTX", got)
	}
	for _, g := range alice.Groups {
		if g.Semantics == xmpp.JingleSemanticsSIM {
			t.Errorf("carol's offer carries a SIM group of alice's: %v", g)
		}
	}
}

// With StripSimulcast off, receivers are told every layer.
func TestReceiversAreToldEveryLayerWithoutStripping(t *testing.T) {
	h := newHarness(t, func(cfg *Config) { cfg.StripSimulcast = false })
	c := h.joined("room1@conference.meet.example.com")
	sids := twoInCall(t, c)

	cam := simulcastCamera("alice", 5000)
	c.awaitResult(c.sourceChange("alice", sids["alice"], xmpp.JingleSourceAdd, cam), "alice's simulcast source-add")
	c.bridgeWire.awaitRequest(t, "alice's update", colibriTo(jvb1, updatesEndpoint("alice"))).result(nil)
	add := c.wire.awaitRequest(t, "source-add to bob", jingleTo(c.occupant("bob"), xmpp.JingleSourceAdd))
	add.result(nil)
	if got := sorted(ssrcsIn(jingleOf(add.el))[c.occupant("alice")]); !slices.Equal(got, ssrcs(cam)) {
		t.Errorf("source-add to bob carries %v of alice's, want every layer %v", got, ssrcs(cam))
	}
}
