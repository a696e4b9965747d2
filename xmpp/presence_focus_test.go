package xmpp

import (
	"path/filepath"
	"reflect"
	"testing"

	"focal/internal/xmltest"
)

func presenceTestGolden(name string) string {
	return filepath.Join("testdata", "presence", name)
}

const presenceTestRoom = "lively-otters-dance@conference.meet.jitsi"

func presenceTestFocus(bridges string, unavailable bool) FocusPresence {
	return FocusPresence{
		Version: "1.0.0-focal",
		Properties: []ConferenceProperty{
			{PropSupportTerminateRestart, "true"},
			{PropBridgeCount, bridges},
		},
		BridgeNotAvailable: unavailable,
	}
}

func TestFocusJoinPresenceMatchesGolden(t *testing.T) {
	p := presenceTestFocus("0", false)
	join := JoinPresence(presenceTestRoom, "focus", p.Elements()...)
	elemTestAssertSameAsGolden(t, presenceTestGolden("focus-join.xml"), join)
	if got := ParseFocusPresence(join); !reflect.DeepEqual(got, p) {
		t.Fatalf("parsed %+v, want %+v", got, p)
	}
}

func TestFocusPresenceUpdateMatchesGolden(t *testing.T) {
	p := presenceTestFocus("2", false)
	update := FocusPresenceUpdate(presenceTestRoom, "focus", p)
	elemTestAssertSameAsGolden(t, presenceTestGolden("focus-update.xml"), update)
	if update.Child(NSMUC, "x") != nil || update.AttrValue("type") != "" {
		t.Fatalf("update %s is not a plain presence", update)
	}
	golden, _ := elemTestGolden(t, presenceTestGolden("focus-update.xml"))
	if got := ParseFocusPresence(golden); !reflect.DeepEqual(got, p) {
		t.Fatalf("parsed %+v, want %+v", got, p)
	}
	if v, ok := ParseFocusPresence(golden).Property(PropBridgeCount); !ok || v != "2" {
		t.Fatalf("bridge-count = %q, %v", v, ok)
	}
}

func TestFocusPresenceBridgeNotAvailableMatchesGolden(t *testing.T) {
	p := presenceTestFocus("0", true)
	elemTestAssertSameAsGolden(t, presenceTestGolden("focus-bridge-not-available.xml"), FocusPresenceUpdate(presenceTestRoom, "focus", p))
	golden, _ := elemTestGolden(t, presenceTestGolden("focus-bridge-not-available.xml"))
	if !ParseFocusPresence(golden).BridgeNotAvailable {
		t.Fatal("bridgeNotAvailable not read")
	}
}

func TestFocusPresenceKeyTellsChanges(t *testing.T) {
	a, b := presenceTestFocus("1", false), presenceTestFocus("1", false)
	if a.Key() != b.Key() {
		t.Fatal("equal presences have different keys")
	}
	for _, other := range []FocusPresence{presenceTestFocus("2", false), presenceTestFocus("1", true), {Version: "1.0.0-focal"}} {
		if other.Key() == a.Key() {
			t.Fatalf("%+v has the key of %+v", other, a)
		}
	}
	if (FocusPresence{}).Elements() != nil {
		t.Fatal("an empty FocusPresence has elements")
	}
}

func FuzzParseFocusPresence(f *testing.F) {
	xmltest.AddFuzzSeeds(f, filepath.Join("testdata", "presence"))
	f.Add([]byte(`<presence><versions xmlns="http://jitsi.org/jitmeet"><component name="focus"> </component></versions><conference-properties xmlns="http://jitsi.org/protocol/focus"><property/><x/></conference-properties></presence>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		el, err := Parse(data)
		if err != nil {
			return
		}
		p := ParseFocusPresence(el)
		// What was read, written out and read again, is the same.
		again := ParseFocusPresence(FocusPresenceUpdate("r@c", "focus", p))
		if len(p.Properties) == 0 {
			p.Properties = nil
		}
		if !reflect.DeepEqual(p, again) {
			t.Fatalf("read %+v, after a round trip %+v", p, again)
		}
	})
}
