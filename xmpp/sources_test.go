package xmpp

import (
	"errors"
	"reflect"
	"testing"
)

func sourceA(ssrc int64, msid string) Source {
	return Source{SSRC: ssrc, Media: SourceAudio, MSID: msid}
}

func sourceV(ssrc int64, msid string) Source {
	return Source{SSRC: ssrc, Media: SourceVideo, MSID: msid}
}

func sourceGroup(sem string, ssrcs ...int64) SourceGroup {
	return SourceGroup{Semantics: sem, Media: SourceVideo, SSRCs: ssrcs}
}

// sourceSimulcast is a camera with three simulcast layers and their RTX.
func sourceSimulcast(base int64, msid string) SourceSet {
	var s SourceSet
	for i := int64(0); i < 6; i++ {
		s.Sources = append(s.Sources, sourceV(base+i, msid))
	}
	s.Groups = []SourceGroup{
		sourceGroup(JingleSemanticsSIM, base, base+1, base+2),
		sourceGroup(JingleSemanticsFID, base, base+3),
		sourceGroup(JingleSemanticsFID, base+1, base+4),
		sourceGroup(JingleSemanticsFID, base+2, base+5),
	}
	return s
}

func sourceMany(n int, first int64) SourceSet {
	var s SourceSet
	for i := 0; i < n; i++ {
		s.Sources = append(s.Sources, sourceA(first+int64(i), ""))
	}
	return s
}

type sourceStep struct {
	remove bool
	owner  string
	set    SourceSet
}

func TestSourceValidation(t *testing.T) {
	tests := []struct {
		name      string
		validator SourceValidator
		setup     []sourceStep // must all succeed
		step      sourceStep
		wantKind  SourceErrorKind // 0: success
		wantMsg   string          // checked when set
		want      *SourceSet      // accepted/removed change, checked when set
	}{
		// SSRC range and uniqueness.
		{name: "audio source accepted", step: sourceStep{owner: "a", set: SourceSet{Sources: []Source{sourceA(1, "m")}}}},
		{name: "largest SSRC accepted", step: sourceStep{owner: "a", set: SourceSet{Sources: []Source{sourceA(1<<32-1, "")}}}},
		{name: "SSRC 0", step: sourceStep{owner: "a", set: SourceSet{Sources: []Source{sourceA(0, "")}}},
			wantKind: SourceInvalidSSRC, wantMsg: "Invalid SSRC: 0."},
		{name: "negative SSRC", step: sourceStep{owner: "a", set: SourceSet{Sources: []Source{sourceA(-5, "")}}},
			wantKind: SourceInvalidSSRC},
		{name: "SSRC 2^32", step: sourceStep{owner: "a", set: SourceSet{Sources: []Source{sourceA(1<<32, "")}}},
			wantKind: SourceInvalidSSRC},
		{name: "SSRC of another endpoint",
			setup:    []sourceStep{{owner: "b", set: SourceSet{Sources: []Source{sourceA(7, "")}}}},
			step:     sourceStep{owner: "a", set: SourceSet{Sources: []Source{sourceV(7, "")}}},
			wantKind: SourceSSRCInUse, wantMsg: "SSRC is already used: 7."},
		{name: "own SSRC signalled again",
			setup:    []sourceStep{{owner: "a", set: SourceSet{Sources: []Source{sourceA(7, "")}}}},
			step:     sourceStep{owner: "a", set: SourceSet{Sources: []Source{sourceA(7, "")}}},
			wantKind: SourceSSRCInUse},
		{name: "SSRC twice in one request",
			step:     sourceStep{owner: "a", set: SourceSet{Sources: []Source{sourceA(7, ""), sourceV(7, "")}}},
			wantKind: SourceSSRCInUse},
		{name: "media other than audio and video",
			step:     sourceStep{owner: "a", set: SourceSet{Sources: []Source{{SSRC: 1, Media: "data"}}}},
			wantKind: SourceInvalidMedia},
		{name: "unknown video type",
			step:     sourceStep{owner: "a", set: SourceSet{Sources: []Source{{SSRC: 1, Media: SourceVideo, VideoType: "screen"}}}},
			wantKind: SourceInvalidVideoType},

		// Limits.
		{name: "20 sources accepted", step: sourceStep{owner: "a", set: sourceMany(20, 100)}},
		{name: "21 sources", step: sourceStep{owner: "a", set: sourceMany(21, 100)},
			wantKind: SourceSSRCLimit, wantMsg: "SSRC limit (20) exceeded."},
		{name: "limit counts existing sources",
			setup:    []sourceStep{{owner: "a", set: sourceMany(15, 100)}},
			step:     sourceStep{owner: "a", set: sourceMany(6, 200)},
			wantKind: SourceSSRCLimit},
		{name: "limit is per endpoint",
			setup: []sourceStep{{owner: "b", set: sourceMany(20, 100)}},
			step:  sourceStep{owner: "a", set: sourceMany(20, 200)}},
		{name: "configured SSRC limit", validator: SourceValidator{MaxSSRCs: 2},
			step:     sourceStep{owner: "a", set: sourceMany(3, 100)},
			wantKind: SourceSSRCLimit, wantMsg: "SSRC limit (2) exceeded."},
		{name: "configured group limit", validator: SourceValidator{MaxGroups: 3},
			step:     sourceStep{owner: "a", set: sourceSimulcast(10, "cam")},
			wantKind: SourceGroupLimit, wantMsg: "ssrc-group limit (3) exceeded."},
		{name: "default group limit",
			step: sourceStep{owner: "a", set: func() SourceSet {
				var s SourceSet
				for i := int64(0); i < 11; i++ {
					msid := "m" + string(rune('a'+i))
					s.Sources = append(s.Sources, sourceV(100+2*i, msid), sourceV(101+2*i, msid))
					s.Groups = append(s.Groups, sourceGroup(JingleSemanticsFID, 100+2*i, 101+2*i))
				}
				return s
			}()},
			validator: SourceValidator{MaxSSRCs: 100},
			wantKind:  0},
		{name: "21 groups", validator: SourceValidator{MaxSSRCs: 100},
			step: sourceStep{owner: "a", set: func() SourceSet {
				var s SourceSet
				for i := int64(0); i < 21; i++ {
					msid := "m" + string(rune('a'+i))
					s.Sources = append(s.Sources, sourceV(100+2*i, msid), sourceV(101+2*i, msid))
					s.Groups = append(s.Groups, sourceGroup(JingleSemanticsFID, 100+2*i, 101+2*i))
				}
				return s
			}()},
			wantKind: SourceGroupLimit, wantMsg: "ssrc-group limit (20) exceeded."},

		// Group shapes.
		{name: "simulcast with RTX accepted", step: sourceStep{owner: "a", set: sourceSimulcast(10, "cam")}},
		{name: "FID with one SSRC",
			step: sourceStep{owner: "a", set: SourceSet{Sources: []Source{sourceV(1, "m")},
				Groups: []SourceGroup{sourceGroup(JingleSemanticsFID, 1)}}},
			wantKind: SourceInvalidFIDGroup, wantMsg: "Invalid FID group: [1]."},
		{name: "FID with three SSRCs",
			step: sourceStep{owner: "a", set: SourceSet{Sources: []Source{sourceV(1, "m"), sourceV(2, "m"), sourceV(3, "m")},
				Groups: []SourceGroup{sourceGroup(JingleSemanticsFID, 1, 2, 3)}}},
			wantKind: SourceInvalidFIDGroup},
		{name: "FID with one SSRC twice",
			step: sourceStep{owner: "a", set: SourceSet{Sources: []Source{sourceV(1, "m")},
				Groups: []SourceGroup{sourceGroup(JingleSemanticsFID, 1, 1)}}},
			wantKind: SourceInvalidFIDGroup},
		{name: "SIM with one SSRC",
			step: sourceStep{owner: "a", set: SourceSet{Sources: []Source{sourceV(1, "m")},
				Groups: []SourceGroup{sourceGroup(JingleSemanticsSIM, 1)}}},
			wantKind: SourceInvalidSIMGroup, wantMsg: "Invalid SIM group: [1]."},
		{name: "SIM with two SSRCs accepted",
			step: sourceStep{owner: "a", set: SourceSet{Sources: []Source{sourceV(1, "m"), sourceV(2, "m")},
				Groups: []SourceGroup{sourceGroup(JingleSemanticsSIM, 1, 2)}}}},
		{name: "SIM with four SSRCs",
			step: sourceStep{owner: "a", set: SourceSet{Sources: []Source{sourceV(1, "m"), sourceV(2, "m"), sourceV(3, "m"), sourceV(4, "m")},
				Groups: []SourceGroup{sourceGroup(JingleSemanticsSIM, 1, 2, 3, 4)}}},
			wantKind: SourceInvalidSIMGroup},
		{name: "unknown semantics",
			step: sourceStep{owner: "a", set: SourceSet{Sources: []Source{sourceV(1, "m"), sourceV(2, "m")},
				Groups: []SourceGroup{sourceGroup("FEC-FR", 1, 2)}}},
			wantKind: SourceInvalidSemantics},

		// Groups reference the endpoint's own signalled SSRCs.
		{name: "group with an unsignalled SSRC",
			step: sourceStep{owner: "a", set: SourceSet{Sources: []Source{sourceV(1, "m")},
				Groups: []SourceGroup{sourceGroup(JingleSemanticsFID, 1, 2)}}},
			wantKind: SourceGroupUnknownSSRC,
			wantMsg:  "An SSRC group contains an SSRC, which hasn't been signaled as a source: [1, 2]."},
		{name: "group with another endpoint's SSRC",
			setup: []sourceStep{{owner: "b", set: SourceSet{Sources: []Source{sourceV(2, "n")}}}},
			step: sourceStep{owner: "a", set: SourceSet{Sources: []Source{sourceV(1, "m")},
				Groups: []SourceGroup{sourceGroup(JingleSemanticsFID, 1, 2)}}},
			wantKind: SourceGroupUnknownSSRC},
		{name: "group over sources signalled earlier",
			setup: []sourceStep{{owner: "a", set: SourceSet{Sources: []Source{sourceV(1, "m")}}}},
			step: sourceStep{owner: "a", set: SourceSet{Sources: []Source{sourceV(2, "m")},
				Groups: []SourceGroup{sourceGroup(JingleSemanticsFID, 1, 2)}}}},

		// MSIDs.
		{name: "grouped source without msid",
			step: sourceStep{owner: "a", set: SourceSet{Sources: []Source{sourceV(1, "m"), sourceV(2, "")},
				Groups: []SourceGroup{sourceGroup(JingleSemanticsFID, 1, 2)}}},
			wantKind: SourceMSIDMissing, wantMsg: "Required source parameter 'msid' is not present."},
		{name: "group with different msids",
			step: sourceStep{owner: "a", set: SourceSet{Sources: []Source{sourceV(1, "m"), sourceV(2, "n")},
				Groups: []SourceGroup{sourceGroup(JingleSemanticsFID, 1, 2)}}},
			wantKind: SourceGroupMSIDMismatch, wantMsg: "SsrcGroup contains sources with different MSIDs: [1, 2]."},
		{name: "msid of another endpoint",
			setup:    []sourceStep{{owner: "b", set: SourceSet{Sources: []Source{sourceA(1, "m")}}}},
			step:     sourceStep{owner: "a", set: SourceSet{Sources: []Source{sourceA(2, "m")}}},
			wantKind: SourceMSIDInUse, wantMsg: "MSID is already used: m."},
		{name: "msid on two streams of one endpoint",
			step:     sourceStep{owner: "a", set: SourceSet{Sources: []Source{sourceV(1, "m"), sourceV(2, "m")}}},
			wantKind: SourceMSIDInUse},
		{name: "msid shared by audio and video",
			step: sourceStep{owner: "a", set: SourceSet{Sources: []Source{sourceA(1, "m"), sourceV(2, "m")}}}},
		{name: "second camera with the first camera's msid",
			setup:    []sourceStep{{owner: "a", set: sourceSimulcast(10, "cam")}},
			step:     sourceStep{owner: "a", set: sourceSimulcast(20, "cam")},
			wantKind: SourceMSIDInUse},

		// Ignored groups.
		{name: "empty group ignored",
			step: sourceStep{owner: "a", set: SourceSet{Sources: []Source{sourceV(1, "m")},
				Groups: []SourceGroup{sourceGroup(JingleSemanticsSIM)}}},
			want: &SourceSet{Sources: []Source{sourceV(1, "m")}}},
		{name: "group already signalled ignored",
			setup: []sourceStep{{owner: "a", set: SourceSet{Sources: []Source{sourceV(1, "m"), sourceV(2, "m")},
				Groups: []SourceGroup{sourceGroup(JingleSemanticsFID, 1, 2)}}}},
			step: sourceStep{owner: "a", set: SourceSet{Sources: []Source{sourceA(3, "")},
				Groups: []SourceGroup{sourceGroup(JingleSemanticsFID, 1, 2)}}},
			want: &SourceSet{Sources: []Source{sourceA(3, "")}}},
		{name: "group twice in one request ignored",
			step: sourceStep{owner: "a", set: SourceSet{Sources: []Source{sourceV(1, "m"), sourceV(2, "m")},
				Groups: []SourceGroup{sourceGroup(JingleSemanticsFID, 1, 2), sourceGroup(JingleSemanticsFID, 1, 2)}}},
			want: &SourceSet{Sources: []Source{sourceV(1, "m"), sourceV(2, "m")},
				Groups: []SourceGroup{sourceGroup(JingleSemanticsFID, 1, 2)}}},

		// Removal.
		{name: "remove a camera removes its groups",
			setup: []sourceStep{{owner: "a", set: sourceSimulcast(10, "cam")}, {owner: "a", set: SourceSet{Sources: []Source{sourceA(1, "mic")}}}},
			step:  sourceStep{remove: true, owner: "a", set: SourceSet{Sources: sourceSimulcast(10, "").Sources}},
			want:  &SourceSet{Sources: sourceSimulcast(10, "cam").Sources, Groups: sourceSimulcast(10, "cam").Groups}},
		{name: "remove one layer splits a camera into streams with one msid",
			setup:    []sourceStep{{owner: "a", set: sourceSimulcast(10, "cam")}},
			step:     sourceStep{remove: true, owner: "a", set: SourceSet{Sources: []Source{{SSRC: 10, Media: SourceVideo}}}},
			wantKind: SourceMSIDInUse},
		{name: "remove the RTX of an ungrouped stream",
			setup: []sourceStep{{owner: "a", set: SourceSet{Sources: []Source{sourceV(1, "m"), sourceV(2, "m")},
				Groups: []SourceGroup{sourceGroup(JingleSemanticsFID, 1, 2)}}}},
			step: sourceStep{remove: true, owner: "a", set: SourceSet{Sources: []Source{{SSRC: 2}}}},
			want: &SourceSet{Sources: []Source{sourceV(2, "m")}, Groups: []SourceGroup{sourceGroup(JingleSemanticsFID, 1, 2)}}},
		{name: "remove another endpoint's source",
			setup:    []sourceStep{{owner: "a", set: SourceSet{Sources: []Source{sourceA(1, "")}}}, {owner: "b", set: SourceSet{Sources: []Source{sourceA(2, "")}}}},
			step:     sourceStep{remove: true, owner: "a", set: SourceSet{Sources: []Source{sourceA(2, "")}}},
			wantKind: SourceNotOwned, wantMsg: "Source does not exist or is not owned by endpoint a (ssrc=2)."},
		{name: "remove from an endpoint without sources",
			setup:    []sourceStep{{owner: "b", set: SourceSet{Sources: []Source{sourceA(2, "")}}}},
			step:     sourceStep{remove: true, owner: "a", set: SourceSet{Sources: []Source{sourceA(2, "")}}},
			wantKind: SourceNotOwned},
		{name: "remove a group the endpoint does not have",
			setup: []sourceStep{{owner: "a", set: SourceSet{Sources: []Source{sourceV(1, "m"), sourceV(2, "n")}}}},
			step: sourceStep{remove: true, owner: "a", set: SourceSet{
				Groups: []SourceGroup{sourceGroup(JingleSemanticsFID, 1, 2)}}},
			wantKind: SourceGroupNotOwned},
		{name: "remove a group only",
			setup: []sourceStep{{owner: "a", set: SourceSet{Sources: []Source{sourceV(1, "m"), sourceV(2, "m")},
				Groups: []SourceGroup{sourceGroup(JingleSemanticsSIM, 1, 2), sourceGroup(JingleSemanticsFID, 1, 2)}}}},
			step: sourceStep{remove: true, owner: "a", set: SourceSet{
				Groups: []SourceGroup{sourceGroup(JingleSemanticsFID, 1, 2)}}},
			want: &SourceSet{Groups: []SourceGroup{sourceGroup(JingleSemanticsFID, 1, 2)}}},
		{name: "remove the group that ties two sources of one msid",
			setup: []sourceStep{{owner: "a", set: SourceSet{Sources: []Source{sourceV(1, "m"), sourceV(2, "m")},
				Groups: []SourceGroup{sourceGroup(JingleSemanticsFID, 1, 2)}}}},
			step: sourceStep{remove: true, owner: "a", set: SourceSet{
				Groups: []SourceGroup{sourceGroup(JingleSemanticsFID, 1, 2)}}},
			wantKind: SourceMSIDInUse},
		{name: "remove by SSRC alone",
			setup: []sourceStep{{owner: "a", set: SourceSet{Sources: []Source{{SSRC: 1, Media: SourceAudio, Name: "a-a0", MSID: "m"}}}}},
			step:  sourceStep{remove: true, owner: "a", set: SourceSet{Sources: []Source{{SSRC: 1}}}},
			want:  &SourceSet{Sources: []Source{{SSRC: 1, Media: SourceAudio, Name: "a-a0", MSID: "m"}}}},
		{name: "empty removal is a no-op",
			step: sourceStep{remove: true, owner: "a"},
			want: &SourceSet{}},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conf := NewConferenceSources(tc.validator)
			for _, s := range tc.setup {
				var err error
				if s.remove {
					_, err = conf.TryRemove(s.owner, s.set)
				} else {
					_, err = conf.TryAdd(s.owner, s.set)
				}
				if err != nil {
					t.Fatalf("setup: %v", err)
				}
			}
			before := conf.All()
			var got SourceSet
			var err error
			if tc.step.remove {
				got, err = conf.TryRemove(tc.step.owner, tc.step.set)
			} else {
				got, err = conf.TryAdd(tc.step.owner, tc.step.set)
			}
			if tc.wantKind != 0 {
				var se *SourceError
				if !errors.As(err, &se) || se.Kind != tc.wantKind {
					t.Fatalf("err = %v (%#v), want kind %d", err, err, tc.wantKind)
				}
				if tc.wantMsg != "" && se.Error() != tc.wantMsg {
					t.Fatalf("message %q, want %q", se.Error(), tc.wantMsg)
				}
				if after := conf.All(); !reflect.DeepEqual(before, after) {
					t.Fatalf("a rejected change altered the sources:\n%v\n%v", before, after)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tc.want != nil && !reflect.DeepEqual(got, *tc.want) && !(got.Empty() && tc.want.Empty()) {
				t.Fatalf("accepted %v, want %v", got, *tc.want)
			}
		})
	}
}

func TestSourceRemovalFreesSSRCsAndMSIDs(t *testing.T) {
	conf := NewConferenceSources(SourceValidator{})
	cam := sourceSimulcast(10, "cam")
	if _, err := conf.TryAdd("a", cam); err != nil {
		t.Fatal(err)
	}
	if _, err := conf.TryAdd("b", sourceSimulcast(10, "other")); err == nil {
		t.Fatal("SSRCs of a accepted for b")
	}
	removed, err := conf.TryRemove("a", SourceSet{Sources: cam.Sources})
	if err != nil {
		t.Fatal(err)
	}
	if len(removed.Groups) != 4 {
		t.Fatalf("groups not removed with their sources: %v", removed)
	}
	if !conf.SourcesOf("a").Empty() || len(conf.Owners()) != 0 {
		t.Fatalf("a still has %v", conf.SourcesOf("a"))
	}
	if _, err := conf.TryAdd("b", sourceSimulcast(10, "cam")); err != nil {
		t.Fatalf("freed SSRCs and msid rejected: %v", err)
	}
	gone := conf.RemoveOwner("b")
	if len(gone.Sources) != 6 {
		t.Fatalf("RemoveOwner returned %v", gone)
	}
	if _, used := conf.SSRCOwner(10); used {
		t.Fatal("SSRC still owned after RemoveOwner")
	}
	if _, used := conf.MSIDOwner("cam"); used {
		t.Fatal("msid still owned after RemoveOwner")
	}
}

func TestSourceMSIDStaysWhileAnotherSourceUsesIt(t *testing.T) {
	conf := NewConferenceSources(SourceValidator{})
	if _, err := conf.TryAdd("a", SourceSet{Sources: []Source{sourceA(1, "m"), sourceV(2, "m")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := conf.TryRemove("a", SourceSet{Sources: []Source{{SSRC: 1}}}); err != nil {
		t.Fatal(err)
	}
	if o, ok := conf.MSIDOwner("m"); !ok || o != "a" {
		t.Fatalf("msid owner %q %v", o, ok)
	}
	if _, err := conf.TryAdd("b", SourceSet{Sources: []Source{sourceA(3, "m")}}); err == nil {
		t.Fatal("msid still used by a accepted for b")
	}
}

func TestSourceSetFromJingleErrors(t *testing.T) {
	desc := func(media string, srcs []JingleSource, groups ...JingleSourceGroup) []JingleContent {
		return []JingleContent{{Name: media, Description: &JingleRTPDescription{Media: media, Sources: srcs, SourceGroups: groups}}}
	}
	tests := []struct {
		name     string
		contents []JingleContent
		wantKind SourceErrorKind
	}{
		{"sources in the data content", desc("application", []JingleSource{{SSRC: 1}}), SourceInvalidMedia},
		{"unknown semantics", desc("video", []JingleSource{{SSRC: 1}, {SSRC: 2}},
			JingleSourceGroup{Semantics: "FEC-FR", Sources: []JingleSource{{SSRC: 1}, {SSRC: 2}}}), SourceInvalidSemantics},
		{"unknown video type", desc("video", []JingleSource{{SSRC: 1, VideoType: "screen"}}), SourceInvalidVideoType},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := SourceSetFromJingle(tc.contents)
			var se *SourceError
			if !errors.As(err, &se) || se.Kind != tc.wantKind {
				t.Fatalf("err = %v, want kind %d", err, tc.wantKind)
			}
		})
	}

	// Lenient parts: lower-case semantics, upper-case video type, RID-only
	// sources, sources directly under content, a data content without
	// sources, media from the content name when there is no description.
	got, err := SourceSetFromJingle([]JingleContent{
		{Name: "video", Description: &JingleRTPDescription{Media: "video",
			Sources: []JingleSource{{SSRC: 1, VideoType: "Desktop", Parameters: []JingleParameter{{Name: "msid", Value: "m"}}},
				{SSRC: 2, Parameters: []JingleParameter{{Name: "msid", Value: "m"}}}, {RID: "h"}},
			SourceGroups: []JingleSourceGroup{{Semantics: "fid", Sources: []JingleSource{{SSRC: 1}, {SSRC: 2}}}}}},
		{Name: "audio", Sources: []JingleSource{{SSRC: 3}}},
		{Name: "data", Description: &JingleRTPDescription{Media: "application"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := SourceSet{
		Sources: []Source{
			{SSRC: 1, Media: SourceVideo, MSID: "m", VideoType: SourceVideoDesktop},
			{SSRC: 2, Media: SourceVideo, MSID: "m"},
			{SSRC: 3, Media: SourceAudio},
		},
		Groups: []SourceGroup{{Semantics: JingleSemanticsFID, Media: SourceVideo, SSRCs: []int64{1, 2}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %v\nwant %v", got, want)
	}
}

func TestSourceSetJingleContentsRoundTrip(t *testing.T) {
	set := sourceSimulcast(10, "cam")
	set.Sources = append(set.Sources, Source{SSRC: 5, Media: SourceAudio, Name: "a-a0", MSID: "mic"})
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
	back, err := SourceSetFromJingle(contents)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Sources) != 7 || len(back.Groups) != 4 {
		t.Fatalf("round trip: %v", back)
	}
	if !reflect.DeepEqual(back.Minus(set), SourceSet{}) || !reflect.DeepEqual(set.Minus(back), SourceSet{}) {
		t.Fatalf("round trip changed the set: %v vs %v", back, set)
	}
}

func TestJingleContentsWithSourcesLeavesBaseAlone(t *testing.T) {
	base := JingleOfferContents(JingleDefaultOfferOptions())
	out := JingleContentsWithSources(base, map[string]SourceSet{"b": {Sources: []Source{sourceA(1, "m")}}})
	if len(base[0].Description.Sources) != 0 {
		t.Fatal("base offer modified")
	}
	if len(out) != 3 || len(out[0].Description.Sources) != 1 || out[0].Description.Sources[0].SSRCInfo.Owner != "b" {
		t.Fatalf("sources not added: %+v", out[0].Description)
	}
}

func TestSourceStripSimulcast(t *testing.T) {
	set := sourceSimulcast(10, "cam")
	set.Sources = append(set.Sources, sourceA(1, "mic"))
	got := set.StripSimulcast()
	want := SourceSet{
		Sources: []Source{sourceV(10, "cam"), sourceV(13, "cam"), sourceA(1, "mic")},
		Groups:  []SourceGroup{sourceGroup(JingleSemanticsFID, 10, 13)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %v\nwant %v", got, want)
	}
}

func TestSourceColibri2DefaultNames(t *testing.T) {
	set := SourceSet{
		Sources: []Source{sourceA(1, "mic"), sourceV(2, "cam"), sourceV(3, "cam")},
		Groups:  []SourceGroup{sourceGroup(JingleSemanticsFID, 2, 3)},
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
	back, err := SourceSetFromColibri2(got, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Sources) != 3 || len(back.Groups) != 1 {
		t.Fatalf("back %v", back)
	}
	if _, err := SourceSetFromColibri2(&Colibri2Sources{MediaSources: []Colibri2MediaSource{{Type: "data", ID: "x"}}}, false); err == nil {
		t.Fatal("data media-source accepted")
	}
}

// A stanza within the XML reader's element cap can carry thousands of
// sources; converting and rejecting them must stay linear.
func TestSourceHugeRequestIsRejected(t *testing.T) {
	d := &JingleRTPDescription{Media: "video"}
	for i := int64(1); i <= 5000; i++ {
		d.Sources = append(d.Sources, JingleSource{SSRC: i, Parameters: []JingleParameter{{Name: "msid", Value: "m"}}})
		d.SourceGroups = append(d.SourceGroups, JingleSourceGroup{Semantics: "FID", Sources: []JingleSource{{SSRC: i}, {SSRC: i}}})
	}
	set, err := SourceSetFromJingle([]JingleContent{{Name: "video", Description: d}})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Sources) != 5000 || len(set.Groups) != 5000 {
		t.Fatalf("%d sources, %d groups", len(set.Sources), len(set.Groups))
	}
	_, err = NewConferenceSources(SourceValidator{}).TryAdd("a", set)
	var se *SourceError
	if !errors.As(err, &se) || se.Kind != SourceSSRCLimit {
		t.Fatalf("err = %v", err)
	}
	_, err = NewConferenceSources(SourceValidator{MaxSSRCs: 1 << 20}).TryAdd("a", set)
	if !errors.As(err, &se) || se.Kind != SourceGroupLimit {
		t.Fatalf("err = %v", err)
	}
}
