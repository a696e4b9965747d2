package sources

import (
	"encoding/xml"
	"errors"
	"reflect"
	"testing"

	"focal/internal/stanzatest"
	"focal/internal/xmltest"
	"focal/media/offer"
	"focal/xmpp"
)

func TestFromJingleErrors(t *testing.T) {
	desc := func(media string, srcs []xmpp.JingleSource, groups ...xmpp.JingleSourceGroup) []xmpp.JingleContent {
		return []xmpp.JingleContent{{Name: media, Description: &xmpp.JingleRTPDescription{Media: media, Sources: srcs, SourceGroups: groups}}}
	}
	tests := []struct {
		name     string
		contents []xmpp.JingleContent
		wantKind ErrorKind
	}{
		{"sources in the data content", desc("application", []xmpp.JingleSource{{SSRC: 1}}), InvalidMedia},
		{"unknown semantics", desc("video", []xmpp.JingleSource{{SSRC: 1}, {SSRC: 2}},
			xmpp.JingleSourceGroup{Semantics: "FEC-FR", Sources: []xmpp.JingleSource{{SSRC: 1}, {SSRC: 2}}}), InvalidSemantics},
		{"unknown video type", desc("video", []xmpp.JingleSource{{SSRC: 1, VideoType: "screen"}}), InvalidVideoType},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FromJingle(tc.contents)
			var se *Error
			if !errors.As(err, &se) || se.Kind != tc.wantKind {
				t.Fatalf("err = %v, want kind %d", err, tc.wantKind)
			}
		})
	}

	// Lenient parts: lower-case semantics, upper-case video type, RID-only
	// sources, sources directly under content, a data content without
	// sources, media from the content name when there is no description.
	got, err := FromJingle([]xmpp.JingleContent{
		{Name: "video", Description: &xmpp.JingleRTPDescription{Media: "video",
			Sources: []xmpp.JingleSource{{SSRC: 1, VideoType: "Desktop", Parameters: []xmpp.JingleParameter{{Name: "msid", Value: "m"}}},
				{SSRC: 2, Parameters: []xmpp.JingleParameter{{Name: "msid", Value: "m"}}}, {RID: "h"}},
			SourceGroups: []xmpp.JingleSourceGroup{{Semantics: "fid", Sources: []xmpp.JingleSource{{SSRC: 1}, {SSRC: 2}}}}}},
		{Name: "audio", Sources: []xmpp.JingleSource{{SSRC: 3}}},
		{Name: "data", Description: &xmpp.JingleRTPDescription{Media: "application"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Set{
		Sources: []Source{
			{SSRC: 1, Media: Video, MSID: "m", VideoType: VideoDesktop},
			{SSRC: 2, Media: Video, MSID: "m"},
			{SSRC: 3, Media: Audio},
		},
		Groups: []Group{{Semantics: xmpp.JingleSemanticsFID, Media: Video, SSRCs: []int64{1, 2}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %v\nwant %v", got, want)
	}
}

func TestJingleContentsRoundTrip(t *testing.T) {
	set := sourceSimulcast(10, "cam")
	set.Sources = append(set.Sources, Source{SSRC: 5, Media: Audio, Name: "a-a0", MSID: "mic"})
	contents := set.JingleContents("a")
	if len(contents) != 2 {
		t.Fatalf("%d contents", len(contents))
	}
	for _, c := range contents {
		for _, s := range c.Description.Sources {
			if s.SSRCInfo == nil || s.SSRCInfo.Owner != "a" {
				t.Fatalf("source without owner: %+v", s)
			}
		}
	}
	back, err := FromJingle(contents)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Sources) != 7 || len(back.Groups) != 4 {
		t.Fatalf("round trip: %v", back)
	}
	if !reflect.DeepEqual(back.Minus(set), Set{}) || !reflect.DeepEqual(set.Minus(back), Set{}) {
		t.Fatalf("round trip changed the set: %v vs %v", back, set)
	}
}

func TestJingleContentsWithLeavesBaseAlone(t *testing.T) {
	base := offer.Contents(offer.DefaultOptions())
	out := JingleContentsWith(base, map[string]Set{"b": {Sources: []Source{sourceA(1, "m")}}})
	if len(base[0].Description.Sources) != 0 {
		t.Fatal("base offer modified")
	}
	if len(out) != 3 || len(out[0].Description.Sources) != 1 || out[0].Description.Sources[0].SSRCInfo.Owner != "b" {
		t.Fatalf("sources not added: %+v", out[0].Description)
	}
}

// The sources of a real client's session-accept are accepted, and go to the
// bridge as ../../xmpp/testdata/colibri2/endpoint-update.xml.
func TestSessionAcceptSourcesGoToTheBridge(t *testing.T) {
	iq := stanzatest.Decode(t, "jingle", "session-accept.xml")
	j := iq.Jingle
	tr := j.ICETransport()
	set, err := FromJingle(j.Contents)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.SSRCs(Audio)) != 1 || len(set.SSRCs(Video)) != 6 || len(set.Groups) != 4 {
		t.Fatalf("sources = %v", set)
	}
	conf := NewMap(Validator{})
	if _, err := conf.TryAdd("7b2f3c1d", set); err != nil {
		t.Fatalf("a real client's sources are rejected: %v", err)
	}

	// What the focus tells the bridge next (../colibri2/endpoint-update.xml).
	n, _ := j.InitialLastN()
	update := stanzatest.IQ{Type: "get", ID: "9e8d7c6b5a40", From: "focus@auth.meet.example.com/focus",
		To: "jvbbrewery@internal.auth.meet.example.com/jvb1",
		Modify: &xmpp.Colibri2ConferenceModify{
			MeetingID: "2f8e3c6a-91d4-4b7e-a0f5-6c2d8e1b3a79",
			Endpoints: []xmpp.Colibri2Endpoint{{
				ID:           "7b2f3c1d",
				Transport:    &xmpp.Colibri2Transport{ICE: tr.Clone()},
				Sources:      set.Colibri2Sources("7b2f3c1d"),
				InitialLastN: &xmpp.Colibri2InitialLastN{Value: n},
			}},
		}}
	out, err := xml.Marshal(update)
	if err != nil {
		t.Fatal(err)
	}
	xmltest.AssertSame(t, stanzatest.Golden(t, "colibri2", "endpoint-update.xml"), out)
}

func FuzzFromJingle(f *testing.F) {
	xmltest.AddFuzzSeeds(f, stanzatest.Path("jingle"))
	f.Add([]byte(`<jingle xmlns="urn:xmpp:jingle:1" action="source-remove" sid="x"><content name="audio"><source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="-1"/></content><reason><a/><b/></reason></jingle>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var j xmpp.Jingle
		if err := xml.Unmarshal(data, &j); err != nil {
			return
		}
		set, err := FromJingle(j.Contents)
		if err != nil {
			return
		}
		conf := NewMap(Validator{})
		if _, err := conf.TryAdd("a", set); err == nil {
			_, _ = conf.TryRemove("a", set.StripSimulcast())
		}
		_, _ = DecodeJSON(EncodeJSON(map[string]Set{"a": set}))
		_ = set.Colibri2Sources("a")
	})
}
