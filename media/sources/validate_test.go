package sources

import (
	"errors"
	"reflect"
	"testing"

	"focal/xmpp"
)

func TestValidation(t *testing.T) {
	tests := []struct {
		name      string
		validator Validator
		setup     []sourceStep // must all succeed
		step      sourceStep
		wantKind  ErrorKind // 0: success
		wantMsg   string    // checked when set
		want      *Set      // accepted/removed change, checked when set
	}{
		// SSRC range and uniqueness.
		{name: "audio source accepted", step: sourceStep{owner: "a", set: Set{Sources: []Source{sourceA(1, "m")}}}},
		{name: "largest SSRC accepted", step: sourceStep{owner: "a", set: Set{Sources: []Source{sourceA(1<<32-1, "")}}}},
		{name: "SSRC 0", step: sourceStep{owner: "a", set: Set{Sources: []Source{sourceA(0, "")}}},
			wantKind: InvalidSSRC, wantMsg: "Invalid SSRC: 0."},
		{name: "negative SSRC", step: sourceStep{owner: "a", set: Set{Sources: []Source{sourceA(-5, "")}}},
			wantKind: InvalidSSRC},
		{name: "SSRC 2^32", step: sourceStep{owner: "a", set: Set{Sources: []Source{sourceA(1<<32, "")}}},
			wantKind: InvalidSSRC},
		{name: "SSRC of another endpoint",
			setup:    []sourceStep{{owner: "b", set: Set{Sources: []Source{sourceA(7, "")}}}},
			step:     sourceStep{owner: "a", set: Set{Sources: []Source{sourceV(7, "")}}},
			wantKind: SSRCInUse, wantMsg: "SSRC is already used: 7."},
		{name: "own SSRC signalled again",
			setup:    []sourceStep{{owner: "a", set: Set{Sources: []Source{sourceA(7, "")}}}},
			step:     sourceStep{owner: "a", set: Set{Sources: []Source{sourceA(7, "")}}},
			wantKind: SSRCInUse},
		{name: "SSRC twice in one request",
			step:     sourceStep{owner: "a", set: Set{Sources: []Source{sourceA(7, ""), sourceV(7, "")}}},
			wantKind: SSRCInUse},
		{name: "media other than audio and video",
			step:     sourceStep{owner: "a", set: Set{Sources: []Source{{SSRC: 1, Media: "data"}}}},
			wantKind: InvalidMedia},
		{name: "unknown video type",
			step:     sourceStep{owner: "a", set: Set{Sources: []Source{{SSRC: 1, Media: Video, VideoType: "screen"}}}},
			wantKind: InvalidVideoType},

		// Limits.
		{name: "20 sources accepted", step: sourceStep{owner: "a", set: sourceMany(20, 100)}},
		{name: "21 sources", step: sourceStep{owner: "a", set: sourceMany(21, 100)},
			wantKind: SSRCLimit, wantMsg: "SSRC limit (20) exceeded."},
		{name: "limit counts existing sources",
			setup:    []sourceStep{{owner: "a", set: sourceMany(15, 100)}},
			step:     sourceStep{owner: "a", set: sourceMany(6, 200)},
			wantKind: SSRCLimit},
		{name: "limit is per endpoint",
			setup: []sourceStep{{owner: "b", set: sourceMany(20, 100)}},
			step:  sourceStep{owner: "a", set: sourceMany(20, 200)}},
		{name: "configured SSRC limit", validator: Validator{MaxSSRCs: 2},
			step:     sourceStep{owner: "a", set: sourceMany(3, 100)},
			wantKind: SSRCLimit, wantMsg: "SSRC limit (2) exceeded."},
		{name: "configured group limit", validator: Validator{MaxGroups: 3},
			step:     sourceStep{owner: "a", set: sourceSimulcast(10, "cam")},
			wantKind: GroupLimit, wantMsg: "ssrc-group limit (3) exceeded."},
		{name: "default group limit",
			step: sourceStep{owner: "a", set: func() Set {
				var s Set
				for i := int64(0); i < 11; i++ {
					msid := "m" + string(rune('a'+i))
					s.Sources = append(s.Sources, sourceV(100+2*i, msid), sourceV(101+2*i, msid))
					s.Groups = append(s.Groups, sourceGroup(xmpp.JingleSemanticsFID, 100+2*i, 101+2*i))
				}
				return s
			}()},
			validator: Validator{MaxSSRCs: 100},
			wantKind:  0},
		{name: "21 groups", validator: Validator{MaxSSRCs: 100},
			step: sourceStep{owner: "a", set: func() Set {
				var s Set
				for i := int64(0); i < 21; i++ {
					msid := "m" + string(rune('a'+i))
					s.Sources = append(s.Sources, sourceV(100+2*i, msid), sourceV(101+2*i, msid))
					s.Groups = append(s.Groups, sourceGroup(xmpp.JingleSemanticsFID, 100+2*i, 101+2*i))
				}
				return s
			}()},
			wantKind: GroupLimit, wantMsg: "ssrc-group limit (20) exceeded."},

		// Group shapes.
		{name: "simulcast with RTX accepted", step: sourceStep{owner: "a", set: sourceSimulcast(10, "cam")}},
		{name: "FID with one SSRC",
			step: sourceStep{owner: "a", set: Set{Sources: []Source{sourceV(1, "m")},
				Groups: []Group{sourceGroup(xmpp.JingleSemanticsFID, 1)}}},
			wantKind: InvalidFIDGroup, wantMsg: "Invalid FID group: [1]."},
		{name: "FID with three SSRCs",
			step: sourceStep{owner: "a", set: Set{Sources: []Source{sourceV(1, "m"), sourceV(2, "m"), sourceV(3, "m")},
				Groups: []Group{sourceGroup(xmpp.JingleSemanticsFID, 1, 2, 3)}}},
			wantKind: InvalidFIDGroup},
		{name: "FID with one SSRC twice",
			step: sourceStep{owner: "a", set: Set{Sources: []Source{sourceV(1, "m")},
				Groups: []Group{sourceGroup(xmpp.JingleSemanticsFID, 1, 1)}}},
			wantKind: InvalidFIDGroup},
		{name: "SIM with one SSRC",
			step: sourceStep{owner: "a", set: Set{Sources: []Source{sourceV(1, "m")},
				Groups: []Group{sourceGroup(xmpp.JingleSemanticsSIM, 1)}}},
			wantKind: InvalidSIMGroup, wantMsg: "Invalid SIM group: [1]."},
		{name: "SIM with two SSRCs accepted",
			step: sourceStep{owner: "a", set: Set{Sources: []Source{sourceV(1, "m"), sourceV(2, "m")},
				Groups: []Group{sourceGroup(xmpp.JingleSemanticsSIM, 1, 2)}}}},
		{name: "SIM with four SSRCs",
			step: sourceStep{owner: "a", set: Set{Sources: []Source{sourceV(1, "m"), sourceV(2, "m"), sourceV(3, "m"), sourceV(4, "m")},
				Groups: []Group{sourceGroup(xmpp.JingleSemanticsSIM, 1, 2, 3, 4)}}},
			wantKind: InvalidSIMGroup},
		{name: "unknown semantics",
			step: sourceStep{owner: "a", set: Set{Sources: []Source{sourceV(1, "m"), sourceV(2, "m")},
				Groups: []Group{sourceGroup("FEC-FR", 1, 2)}}},
			wantKind: InvalidSemantics},

		// Groups reference the endpoint's own signalled SSRCs.
		{name: "group with an unsignalled SSRC",
			step: sourceStep{owner: "a", set: Set{Sources: []Source{sourceV(1, "m")},
				Groups: []Group{sourceGroup(xmpp.JingleSemanticsFID, 1, 2)}}},
			wantKind: GroupUnknownSSRC,
			wantMsg:  "An SSRC group contains an SSRC, which hasn't been signaled as a source: [1, 2]."},
		{name: "group with another endpoint's SSRC",
			setup: []sourceStep{{owner: "b", set: Set{Sources: []Source{sourceV(2, "n")}}}},
			step: sourceStep{owner: "a", set: Set{Sources: []Source{sourceV(1, "m")},
				Groups: []Group{sourceGroup(xmpp.JingleSemanticsFID, 1, 2)}}},
			wantKind: GroupUnknownSSRC},
		{name: "group over sources signalled earlier",
			setup: []sourceStep{{owner: "a", set: Set{Sources: []Source{sourceV(1, "m")}}}},
			step: sourceStep{owner: "a", set: Set{Sources: []Source{sourceV(2, "m")},
				Groups: []Group{sourceGroup(xmpp.JingleSemanticsFID, 1, 2)}}}},

		// MSIDs.
		{name: "grouped source without msid",
			step: sourceStep{owner: "a", set: Set{Sources: []Source{sourceV(1, "m"), sourceV(2, "")},
				Groups: []Group{sourceGroup(xmpp.JingleSemanticsFID, 1, 2)}}},
			wantKind: MSIDMissing, wantMsg: "Required source parameter 'msid' is not present."},
		{name: "group with different msids",
			step: sourceStep{owner: "a", set: Set{Sources: []Source{sourceV(1, "m"), sourceV(2, "n")},
				Groups: []Group{sourceGroup(xmpp.JingleSemanticsFID, 1, 2)}}},
			wantKind: GroupMSIDMismatch, wantMsg: "SsrcGroup contains sources with different MSIDs: [1, 2]."},
		{name: "msid of another endpoint",
			setup:    []sourceStep{{owner: "b", set: Set{Sources: []Source{sourceA(1, "m")}}}},
			step:     sourceStep{owner: "a", set: Set{Sources: []Source{sourceA(2, "m")}}},
			wantKind: MSIDInUse, wantMsg: "MSID is already used: m."},
		{name: "msid on two streams of one endpoint",
			step:     sourceStep{owner: "a", set: Set{Sources: []Source{sourceV(1, "m"), sourceV(2, "m")}}},
			wantKind: MSIDInUse},
		{name: "msid shared by audio and video",
			step: sourceStep{owner: "a", set: Set{Sources: []Source{sourceA(1, "m"), sourceV(2, "m")}}}},
		{name: "second camera with the first camera's msid",
			setup:    []sourceStep{{owner: "a", set: sourceSimulcast(10, "cam")}},
			step:     sourceStep{owner: "a", set: sourceSimulcast(20, "cam")},
			wantKind: MSIDInUse},

		// Ignored groups.
		{name: "empty group ignored",
			step: sourceStep{owner: "a", set: Set{Sources: []Source{sourceV(1, "m")},
				Groups: []Group{sourceGroup(xmpp.JingleSemanticsSIM)}}},
			want: &Set{Sources: []Source{sourceV(1, "m")}}},
		{name: "group already signalled ignored",
			setup: []sourceStep{{owner: "a", set: Set{Sources: []Source{sourceV(1, "m"), sourceV(2, "m")},
				Groups: []Group{sourceGroup(xmpp.JingleSemanticsFID, 1, 2)}}}},
			step: sourceStep{owner: "a", set: Set{Sources: []Source{sourceA(3, "")},
				Groups: []Group{sourceGroup(xmpp.JingleSemanticsFID, 1, 2)}}},
			want: &Set{Sources: []Source{sourceA(3, "")}}},
		{name: "group twice in one request ignored",
			step: sourceStep{owner: "a", set: Set{Sources: []Source{sourceV(1, "m"), sourceV(2, "m")},
				Groups: []Group{sourceGroup(xmpp.JingleSemanticsFID, 1, 2), sourceGroup(xmpp.JingleSemanticsFID, 1, 2)}}},
			want: &Set{Sources: []Source{sourceV(1, "m"), sourceV(2, "m")},
				Groups: []Group{sourceGroup(xmpp.JingleSemanticsFID, 1, 2)}}},

		// Removal.
		{name: "remove a camera removes its groups",
			setup: []sourceStep{{owner: "a", set: sourceSimulcast(10, "cam")}, {owner: "a", set: Set{Sources: []Source{sourceA(1, "mic")}}}},
			step:  sourceStep{remove: true, owner: "a", set: Set{Sources: sourceSimulcast(10, "").Sources}},
			want:  &Set{Sources: sourceSimulcast(10, "cam").Sources, Groups: sourceSimulcast(10, "cam").Groups}},
		{name: "remove one layer splits a camera into streams with one msid",
			setup:    []sourceStep{{owner: "a", set: sourceSimulcast(10, "cam")}},
			step:     sourceStep{remove: true, owner: "a", set: Set{Sources: []Source{{SSRC: 10, Media: Video}}}},
			wantKind: MSIDInUse},
		{name: "remove the RTX of an ungrouped stream",
			setup: []sourceStep{{owner: "a", set: Set{Sources: []Source{sourceV(1, "m"), sourceV(2, "m")},
				Groups: []Group{sourceGroup(xmpp.JingleSemanticsFID, 1, 2)}}}},
			step: sourceStep{remove: true, owner: "a", set: Set{Sources: []Source{{SSRC: 2}}}},
			want: &Set{Sources: []Source{sourceV(2, "m")}, Groups: []Group{sourceGroup(xmpp.JingleSemanticsFID, 1, 2)}}},
		{name: "remove another endpoint's source",
			setup:    []sourceStep{{owner: "a", set: Set{Sources: []Source{sourceA(1, "")}}}, {owner: "b", set: Set{Sources: []Source{sourceA(2, "")}}}},
			step:     sourceStep{remove: true, owner: "a", set: Set{Sources: []Source{sourceA(2, "")}}},
			wantKind: NotOwned, wantMsg: "Source does not exist or is not owned by endpoint a (ssrc=2)."},
		{name: "remove from an endpoint without sources",
			setup:    []sourceStep{{owner: "b", set: Set{Sources: []Source{sourceA(2, "")}}}},
			step:     sourceStep{remove: true, owner: "a", set: Set{Sources: []Source{sourceA(2, "")}}},
			wantKind: NotOwned},
		{name: "remove a group the endpoint does not have",
			setup: []sourceStep{{owner: "a", set: Set{Sources: []Source{sourceV(1, "m"), sourceV(2, "n")}}}},
			step: sourceStep{remove: true, owner: "a", set: Set{
				Groups: []Group{sourceGroup(xmpp.JingleSemanticsFID, 1, 2)}}},
			wantKind: GroupNotOwned},
		{name: "remove a group only",
			setup: []sourceStep{{owner: "a", set: Set{Sources: []Source{sourceV(1, "m"), sourceV(2, "m")},
				Groups: []Group{sourceGroup(xmpp.JingleSemanticsSIM, 1, 2), sourceGroup(xmpp.JingleSemanticsFID, 1, 2)}}}},
			step: sourceStep{remove: true, owner: "a", set: Set{
				Groups: []Group{sourceGroup(xmpp.JingleSemanticsFID, 1, 2)}}},
			want: &Set{Groups: []Group{sourceGroup(xmpp.JingleSemanticsFID, 1, 2)}}},
		{name: "remove the group that ties two sources of one msid",
			setup: []sourceStep{{owner: "a", set: Set{Sources: []Source{sourceV(1, "m"), sourceV(2, "m")},
				Groups: []Group{sourceGroup(xmpp.JingleSemanticsFID, 1, 2)}}}},
			step: sourceStep{remove: true, owner: "a", set: Set{
				Groups: []Group{sourceGroup(xmpp.JingleSemanticsFID, 1, 2)}}},
			wantKind: MSIDInUse},
		{name: "remove by SSRC alone",
			setup: []sourceStep{{owner: "a", set: Set{Sources: []Source{{SSRC: 1, Media: Audio, Name: "a-a0", MSID: "m"}}}}},
			step:  sourceStep{remove: true, owner: "a", set: Set{Sources: []Source{{SSRC: 1}}}},
			want:  &Set{Sources: []Source{{SSRC: 1, Media: Audio, Name: "a-a0", MSID: "m"}}}},
		{name: "empty removal is a no-op",
			step: sourceStep{remove: true, owner: "a"},
			want: &Set{}},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conf := NewMap(tc.validator)
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
			var got Set
			var err error
			if tc.step.remove {
				got, err = conf.TryRemove(tc.step.owner, tc.step.set)
			} else {
				got, err = conf.TryAdd(tc.step.owner, tc.step.set)
			}
			if tc.wantKind != 0 {
				var se *Error
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

func TestHugeRequestIsRejected(t *testing.T) {
	d := &xmpp.JingleRTPDescription{Media: "video"}
	for i := int64(1); i <= 5000; i++ {
		d.Sources = append(d.Sources, xmpp.JingleSource{SSRC: i, Parameters: []xmpp.JingleParameter{{Name: "msid", Value: "m"}}})
		d.SourceGroups = append(d.SourceGroups, xmpp.JingleSourceGroup{Semantics: "FID", Sources: []xmpp.JingleSource{{SSRC: i}, {SSRC: i}}})
	}
	set, err := FromJingle([]xmpp.JingleContent{{Name: "video", Description: d}})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Sources) != 5000 || len(set.Groups) != 5000 {
		t.Fatalf("%d sources, %d groups", len(set.Sources), len(set.Groups))
	}
	_, err = NewMap(Validator{}).TryAdd("a", set)
	var se *Error
	if !errors.As(err, &se) || se.Kind != SSRCLimit {
		t.Fatalf("err = %v", err)
	}
	_, err = NewMap(Validator{MaxSSRCs: 1 << 20}).TryAdd("a", set)
	if !errors.As(err, &se) || se.Kind != GroupLimit {
		t.Fatalf("err = %v", err)
	}
}
