package offer

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"

	"focal/internal/stanzatest"
	"focal/internal/xmltest"
	"focal/media/sources"
	"focal/xmpp"
)

// The session-initiate golden (../../xmpp/testdata/jingle) is what the focus
// builds from the default offer, the bridge's answer
// (../../xmpp/testdata/colibri2/conference-modified.xml) and the other
// participant's sources.
func TestOfferWithBridgeTransportMatchesGolden(t *testing.T) {
	var bridge stanzatest.IQ
	if err := xml.Unmarshal(stanzatest.Golden(t, "colibri2", "conference-modified.xml"), &bridge); err != nil {
		t.Fatal(err)
	}
	ep := bridge.Modified.Endpoint("7b2f3c1d")
	if ep == nil || ep.Transport == nil || ep.Transport.ICE == nil || ep.Transport.SCTP == nil {
		t.Fatalf("bridge answer lacks the endpoint transport: %+v", ep)
	}
	feedback, err := sources.FromColibri2(bridge.Modified.Sources, true)
	if err != nil {
		t.Fatal(err)
	}

	opts := DefaultOptions()
	opts.StartAudioMuted = true
	j := New("5f0ci9a7mn8qs", "focus@auth.meet.example.com/focus", opts)
	UseBridgeTransport(j, ep.Transport.ICE, ep.Transport.SCTP.Port)
	other := sources.Set{
		Sources: []sources.Source{
			{SSRC: 1508256045, Media: sources.Audio, Name: "e1a9d2f0-a0", MSID: "e1a9d2f0-audio-1 4c5bb3e8-2d0e-4f6a-9a43-0d7e0e4a1f11"},
			{SSRC: 2250148151, Media: sources.Video, Name: "e1a9d2f0-v0", MSID: "e1a9d2f0-video-1 9b0e7d55-61c4-4a0f-8c2e-5be6a4f6c0d2", VideoType: sources.VideoCamera},
			{SSRC: 3938372813, Media: sources.Video, Name: "e1a9d2f0-v0", MSID: "e1a9d2f0-video-1 9b0e7d55-61c4-4a0f-8c2e-5be6a4f6c0d2", VideoType: sources.VideoCamera},
		},
		Groups: []sources.Group{{Semantics: xmpp.JingleSemanticsFID, Media: sources.Video, SSRCs: []int64{2250148151, 3938372813}}},
	}
	j.Contents = sources.JingleContentsWith(j.Contents, map[string]sources.Set{"e1a9d2f0": other, sources.OwnerBridge: feedback})
	j.BridgeSession = &xmpp.JingleBridgeSession{ID: "d0f4e27c-3a61-4c1e-9a7b-52c8f0b1e6a3", Region: "eu-west-1"}

	iq := stanzatest.IQ{Type: "set", ID: "8c1e2d7a0f4b", From: "focus@auth.meet.example.com/focus",
		To: "room1@conference.meet.example.com/7b2f3c1d", Jingle: j}
	out, err := xml.Marshal(iq)
	if err != nil {
		t.Fatal(err)
	}
	xmltest.AssertSame(t, stanzatest.Golden(t, "jingle", "session-initiate.xml"), out)
}

// The create request is built from the participant's offer, the way the
// focus allocates an endpoint.
func TestColibri2ConferenceCreateFromOffer(t *testing.T) {
	contents := Contents(DefaultOptions())
	audio, ok := xmpp.Colibri2MediaFromJingle(&contents[0])
	if !ok {
		t.Fatal("no audio media")
	}
	if _, ok := xmpp.Colibri2MediaFromJingle(&contents[2]); ok {
		t.Fatal("the data content has no colibri2 media")
	}
	// The golden file trims the video codecs to VP8 and its RTX.
	video := xmpp.Colibri2Media{
		Type: "video",
		PayloadTypes: []xmpp.JinglePayloadType{
			{ID: 100, Name: "VP8", ClockRate: 90000, RTCPFeedback: []xmpp.JingleRTCPFeedback{
				{Type: "ccm", Subtype: "fir"}, {Type: "nack"}, {Type: "nack", Subtype: "pli"}, {Type: "transport-cc"}}},
			{ID: 96, Name: "rtx", ClockRate: 90000, Parameters: []xmpp.JingleParameter{{Name: "apt", Value: "100"}},
				RTCPFeedback: []xmpp.JingleRTCPFeedback{{Type: "ccm", Subtype: "fir"}, {Type: "nack"}, {Type: "nack", Subtype: "pli"}}},
		},
		HeaderExtensions: []xmpp.JingleRTPHdrExt{{ID: 3, URI: ExtAbsSendTime}, {ID: 5, URI: ExtTransportCC}},
		ExtmapAllowMixed: &xmpp.JingleEmpty{},
	}
	rtcstats := false
	iq := stanzatest.IQ{Type: "get", ID: "b7c1d0e2f3a4", From: "focus@auth.meet.example.com/focus",
		To: "jvbbrewery@internal.auth.meet.example.com/jvb1",
		Modify: &xmpp.Colibri2ConferenceModify{
			MeetingID:       "2f8e3c6a-91d4-4b7e-a0f5-6c2d8e1b3a79",
			Name:            "room1@conference.meet.example.com",
			Create:          true,
			RTCStatsEnabled: &rtcstats,
			Endpoints: []xmpp.Colibri2Endpoint{{
				ID:        "7b2f3c1d",
				Create:    true,
				StatsID:   "Gunnar-Xf3",
				Media:     []xmpp.Colibri2Media{audio, video},
				Transport: &xmpp.Colibri2Transport{ICEControlling: true, SCTP: &xmpp.Colibri2SCTP{}},
				Sources:   sources.Set{}.Colibri2Sources("7b2f3c1d"),
				ForceMute: &xmpp.Colibri2ForceMute{Audio: true},
				Capabilities: []xmpp.Colibri2Capability{
					{Name: xmpp.Colibri2CapSourceNames}, {Name: xmpp.Colibri2CapSSRCRewriting}, {Name: xmpp.Colibri2CapRTPMidDemux}},
			}},
		}}
	out, err := xml.Marshal(iq)
	if err != nil {
		t.Fatal(err)
	}
	xmltest.AssertSame(t, stanzatest.Golden(t, "colibri2", "conference-create.xml"), out)
}

func TestOptions(t *testing.T) {
	payloadNames := func(d *xmpp.JingleRTPDescription) []string {
		var out []string
		for _, pt := range d.PayloadTypes {
			out = append(out, pt.Name)
		}
		return out
	}
	hasFB := func(d *xmpp.JingleRTPDescription, typ string) bool {
		for _, pt := range d.PayloadTypes {
			for _, fb := range pt.RTCPFeedback {
				if fb.Type == typ {
					return true
				}
			}
		}
		return false
	}
	hasExt := func(d *xmpp.JingleRTPDescription, uri string) bool {
		for _, e := range d.HeaderExtensions {
			if e.URI == uri {
				return true
			}
		}
		return false
	}

	t.Run("defaults", func(t *testing.T) {
		j := New("s", "focus@x/focus", DefaultOptions())
		if len(j.Contents) != 3 || j.StartMuted != nil {
			t.Fatalf("contents %d, startmuted %+v", len(j.Contents), j.StartMuted)
		}
		v := j.Content(xmpp.JingleContentVideo).Description
		if got := strings.Join(payloadNames(v), ","); got != "AV1,VP8,H264,VP9,rtx,rtx,rtx,rtx" {
			t.Fatalf("video codecs %s", got)
		}
		if hasFB(v, "goog-remb") || !hasFB(v, "transport-cc") {
			t.Fatal("default video feedback: want transport-cc and no goog-remb")
		}
		for _, off := range []string{ExtTOffset, ExtRID, ExtVideoContentType, ExtFramemarking, ExtVideoLayersAllocation} {
			if hasExt(v, off) {
				t.Fatalf("disabled extension %s offered", off)
			}
		}
		a := j.Content(xmpp.JingleContentAudio).Description
		if a.MaxPTime != 60 || strings.Join(payloadNames(a), ",") != "opus,telephone-event" {
			t.Fatalf("audio %+v", a)
		}
		if v, _ := a.PayloadTypes[0].Parameter("useinbandfec"); v != "1" {
			t.Fatal("opus without useinbandfec")
		}
	})
	t.Run("no video", func(t *testing.T) {
		o := DefaultOptions()
		o.Video = false
		j := New("s", "focus@x/focus", o)
		if j.Content(xmpp.JingleContentVideo) != nil || len(j.Groups[0].Contents) != 2 {
			t.Fatalf("video offered: %+v", j.Groups)
		}
	})
	t.Run("remb without tcc, no rtx", func(t *testing.T) {
		o := DefaultOptions()
		o.TCC, o.REMB, o.RTX = false, true, false
		j := New("s", "focus@x/focus", o)
		v := j.Content(xmpp.JingleContentVideo).Description
		if !hasFB(v, "goog-remb") || hasFB(v, "transport-cc") || hasExt(v, ExtTransportCC) {
			t.Fatal("want goog-remb and no transport-cc")
		}
		if strings.Contains(strings.Join(payloadNames(v), ","), "rtx") {
			t.Fatal("rtx offered")
		}
		if hasExt(j.Content(xmpp.JingleContentAudio).Description, ExtTransportCC) {
			t.Fatal("audio transport-cc offered")
		}
	})
	t.Run("red enabled", func(t *testing.T) {
		cfg := DefaultCodecConfig()
		cfg.Opus.RED.Enabled = true
		cfg.VP9.Enabled = false
		cfg.H264.RTXPT = -1
		o := DefaultOptions()
		o.Codecs = &cfg
		j := New("s", "focus@x/focus", o)
		a := j.Content(xmpp.JingleContentAudio).Description
		if got := strings.Join(payloadNames(a), ","); got != "red,opus,telephone-event" {
			t.Fatalf("audio codecs %s", got)
		}
		if a.PayloadTypes[0].Parameters[0].Value != "111/111" {
			t.Fatalf("red fmtp %+v", a.PayloadTypes[0].Parameters)
		}
		if _, ok := a.PayloadTypes[1].Parameter("useinbandfec"); ok {
			t.Fatal("in-band FEC offered together with RED")
		}
		if got := strings.Join(payloadNames(j.Content(xmpp.JingleContentVideo).Description), ","); got != "AV1,VP8,H264,rtx,rtx" {
			t.Fatalf("video codecs %s", got)
		}
	})
	t.Run("start muted", func(t *testing.T) {
		o := DefaultOptions()
		o.StartVideoMuted = true
		j := New("s", "focus@x/focus", o)
		if j.StartMuted == nil || j.StartMuted.Audio || !j.StartMuted.Video {
			t.Fatalf("startmuted %+v", j.StartMuted)
		}
		out, err := xml.Marshal(j.StartMuted)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(out, []byte(`audio="false"`)) {
			t.Fatalf("both attributes must be written: %s", out)
		}
	})
}
