package sources

import (
	"encoding/xml"
	"reflect"
	"testing"

	"focal/internal/stanzatest"
	"focal/internal/xmltest"
	"focal/xmpp"
)

func TestColibri2DefaultNames(t *testing.T) {
	set := Set{
		Sources: []Source{sourceA(1, "mic"), sourceV(2, "cam"), sourceV(3, "cam")},
		Groups:  []Group{sourceGroup(xmpp.JingleSemanticsFID, 2, 3)},
	}
	got := set.Colibri2Sources("ep")
	if len(got.MediaSources) != 2 || got.MediaSources[0].ID != "ep-a0" || got.MediaSources[1].ID != "ep-v0" ||
		len(got.MediaSources[1].Sources) != 2 || len(got.MediaSources[1].SourceGroups) != 1 {
		t.Fatalf("media sources %+v", got.MediaSources)
	}
	for _, ms := range got.MediaSources {
		for _, s := range ms.Sources {
			if len(s.Parameters) != 0 {
				t.Fatal("msid sent to the bridge")
			}
		}
	}
	back, err := FromColibri2(got, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Sources) != 3 || len(back.Groups) != 1 {
		t.Fatalf("back %v", back)
	}
	if _, err := FromColibri2(&xmpp.Colibri2Sources{MediaSources: []xmpp.Colibri2MediaSource{{Type: "data", ID: "x"}}}, false); err == nil {
		t.Fatal("data media-source accepted")
	}
}

// A stanza within the XML reader's element cap can carry thousands of
// sources; converting and rejecting them must stay linear.

func TestFeedbackSourcesFromConferenceModified(t *testing.T) {
	iq := stanzatest.Decode(t, "colibri2", "conference-modified.xml")
	feedback, err := FromColibri2(iq.Modified.Sources, true)
	if err != nil {
		t.Fatal(err)
	}
	want := Set{Sources: []Source{
		{SSRC: 3325153418, Media: Audio, Name: "jvb-a0", MSID: "mixedmslabel mixedlabelaudio0"},
		{SSRC: 1406813932, Media: Video, Name: "jvb-v0", MSID: "mixedmslabel mixedlabelvideo0"},
	}}
	if !reflect.DeepEqual(feedback, want) {
		t.Fatalf("feedback %v", feedback)
	}
}

func FuzzFromColibri2(f *testing.F) {
	xmltest.AddFuzzSeeds(f, stanzatest.Path("colibri2"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m xmpp.Colibri2ConferenceModify
		if xml.Unmarshal(data, &m) == nil {
			for _, ep := range m.Endpoints {
				if set, err := FromColibri2(ep.Sources, false); err == nil {
					_ = set.Colibri2Sources(ep.ID)
				}
			}
		}
		var r xmpp.Colibri2ConferenceModified
		if xml.Unmarshal(data, &r) == nil {
			_, _ = FromColibri2(r.Sources, true)
		}
	})
}
