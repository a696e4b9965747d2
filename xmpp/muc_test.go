package xmpp

import (
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"focal/internal/xmltest"
)

func mucTestGolden(name string) string {
	return filepath.Join("testdata", "muc", name)
}

// mucTestPresence parses a golden presence, checks that it round-trips,
// and reads it as an occupant presence.
func mucTestPresence(t *testing.T, name string) OccupantPresence {
	t.Helper()
	el, _ := elemTestGolden(t, mucTestGolden(name))
	elemTestAssertSameAsGolden(t, mucTestGolden(name), el)
	p, ok := ParseOccupantPresence(el)
	if !ok {
		t.Fatalf("%s: not an occupant presence", name)
	}
	if p.Stanza != el {
		t.Fatalf("%s: Stanza is not the parsed presence", name)
	}
	return p
}

func TestMUCJoinPresenceMatchesGolden(t *testing.T) {
	versions := NewElement("http://jitsi.org/jitmeet", "versions").Append(
		NewElement("", "component", "name", "focus").WithText("1.0.0-focal"))
	p := JoinPresence("lively-otters-dance@conference.meet.jitsi", "focus", versions)
	elemTestAssertSameAsGolden(t, mucTestGolden("join.xml"), p)
	if p.AttrValue("type") != "" || p.AttrValue("from") != "" {
		t.Fatalf("join presence %s has a type or from", p)
	}
}

func TestMUCLeavePresence(t *testing.T) {
	p := LeavePresence("room@conference.example.com", "focus")
	want := `<presence type="unavailable" to="room@conference.example.com/focus"/>`
	if got := p.String(); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestMUCGrantOwnerMatchesGolden(t *testing.T) {
	iq := SetAffiliationIQ("lively-otters-dance@conference.meet.jitsi", "alice@auth.meet.jitsi", AffiliationOwner)
	if iq.AttrValue("id") == "" {
		t.Fatal("no id")
	}
	if !IsIQRequest(iq) {
		t.Fatalf("%s is not an IQ request", iq)
	}
	iq.SetAttr("id", "5c1e9a7b3d2f") // the golden file's
	elemTestAssertSameAsGolden(t, mucTestGolden("grant-owner.xml"), iq)
}

func TestMUCSelfPresenceFromProsody(t *testing.T) {
	p := mucTestPresence(t, "self-presence.xml")
	if p.Room != "lively-otters-dance@conference.meet.jitsi" || p.Nick != "focus" {
		t.Fatalf("room %q nick %q", p.Room, p.Nick)
	}
	if !p.Self || p.Unavailable || p.Error != nil {
		t.Fatalf("self %v unavailable %v error %v", p.Self, p.Unavailable, p.Error)
	}
	if p.Affiliation != AffiliationOwner || p.Role != RoleModerator || p.RealJID != "focus@auth.meet.jitsi/focus1734" {
		t.Fatalf("item %q %q %q", p.Affiliation, p.Role, p.RealJID)
	}
	if !reflect.DeepEqual(p.Codes, []int{201, 110, 100}) {
		t.Fatalf("codes %v", p.Codes)
	}
	if !p.HasCode(StatusRoomCreated) || !p.HasCode(StatusSelfPresence) || p.HasCode(StatusKicked) {
		t.Fatalf("HasCode on %v", p.Codes)
	}
	// The occupant id and the reflected extensions stay available.
	if id := p.Stanza.Child("urn:xmpp:occupant-id:0", "occupant-id").AttrValue("id"); id != "lDZAk0G0v2ZSuD0k4z+Lnyq8jv/trU1Lmdb3ftdZs2k=" {
		t.Fatalf("occupant-id %q", id)
	}
	if c := p.Stanza.Child("http://jitsi.org/jitmeet", "versions").Child("", "component"); c == nil || c.Text != "1.0.0-focal" {
		t.Fatal("versions extension lost")
	}
}

func TestMUCParticipantPresenceWithJitsiExtensions(t *testing.T) {
	p := mucTestPresence(t, "participant.xml")
	if p.Nick != "8a3f0c21" || p.Self || p.Unavailable || p.Error != nil || len(p.Codes) != 0 {
		t.Fatalf("presence %+v", p)
	}
	if p.Affiliation != AffiliationNone || p.Role != RoleParticipant || p.RealJID != "7f3e2d1c-0b9a-4e8f-a7d6-c5b4a3928170@meet.jitsi/hNqWq9ZcKt3v" {
		t.Fatalf("item %q %q %q", p.Affiliation, p.Role, p.RealJID)
	}
	st := p.Stanza
	// Jitsi's un-namespaced extensions are in the stanza's namespace.
	for name, want := range map[string]string{
		"stats-id":                    "Kaya-Z0k",
		"SourceInfo":                  `{"8a3f0c21-a0":{"muted":false},"8a3f0c21-v0":{"muted":true,"videoType":"camera"}}`,
		"jitsi_participant_codecList": "av1,vp9,vp8,h264",
		"audiomuted":                  "false",
		"videomuted":                  "true",
	} {
		c := st.Child(NSClient, name)
		if c == nil || c.Text != want {
			t.Errorf("<%s> = %v, want %q", name, c, want)
		}
	}
	if r := st.Child("http://jitsi.org/jitsi-meet", "region"); r.AttrValue("id") != "eu-central-1" {
		t.Errorf("region %v", r)
	}
	caps := st.Child("http://jabber.org/protocol/caps", "c")
	if caps.AttrValue("node") != "https://jitsi.org/jitsi-meet" || caps.AttrValue("hash") != "sha-1" || caps.AttrValue("ver") != "8Ep4XKWo5D8zRE6mqCu7GdyfnJc=" {
		t.Errorf("caps %v", caps)
	}
	if n := st.Child("http://jabber.org/protocol/nick", "nick"); n == nil || n.Text != `Alice & Bob's "laptop"` {
		t.Errorf("nick %v", n)
	}
	// As a session hands it over, without the stream namespace, the
	// extensions are still found (by any namespace) and it still serialises
	// to the same presence.
	stripped := st.Clone()
	StripStreamNamespace(stripped, NSClient)
	if c := stripped.Child("", "stats-id"); c == nil || c.Text != "Kaya-Z0k" {
		t.Errorf("stats-id after stripping the stream namespace: %v", c)
	}
	if p2, ok := ParseOccupantPresence(stripped); !ok || p2.RealJID != p.RealJID {
		t.Errorf("stripped presence %+v", p2)
	}
	elemTestAssertSameAsGolden(t, mucTestGolden("participant.xml"), stripped)
}

func TestMUCUnavailablePresence(t *testing.T) {
	p := mucTestPresence(t, "unavailable.xml")
	if !p.Unavailable || p.Self || p.Role != RoleNone || p.Nick != "8a3f0c21" || p.Error != nil {
		t.Fatalf("presence %+v", p)
	}
}

func TestMUCKickedSelfPresence(t *testing.T) {
	p := mucTestPresence(t, "kicked.xml")
	if !p.Unavailable || !p.Self || !p.HasCode(StatusKicked) || p.Role != RoleNone || p.Affiliation != AffiliationOwner {
		t.Fatalf("presence %+v", p)
	}
	item := p.Stanza.Child(NSMUCUser, "x").Child(NSMUCUser, "item")
	if item.Child(NSMUCUser, "reason").Text != "You have been kicked." || item.Child(NSMUCUser, "actor").AttrValue("nick") != "8a3f0c21" {
		t.Fatalf("item %s", item)
	}
}

func TestMUCJoinConflictErrorPresence(t *testing.T) {
	p := mucTestPresence(t, "join-conflict.xml")
	if p.Error == nil {
		t.Fatal("no error")
	}
	if p.Error.Condition != Conflict || p.Error.Type != ErrorCancel || p.Error.Text != "" || p.Error.App != nil {
		t.Fatalf("error %+v", *p.Error)
	}
	if ConditionOf(*p.Error) != Conflict {
		t.Fatalf("ConditionOf(%v)", *p.Error)
	}
	if p.Nick != "focus" || p.Unavailable || p.Self || p.Affiliation != "" {
		t.Fatalf("presence %+v", p)
	}
}

func TestMUCOccupantPresenceCases(t *testing.T) {
	const room = "r@conference.example.com"
	for _, tc := range []struct {
		name  string
		xml   string
		ok    bool
		check func(t *testing.T, p OccupantPresence)
	}{
		{"not a presence", `<message from="r@conference.example.com/n"/>`, false, nil},
		{"from the room itself", `<presence from="r@conference.example.com"/>`, false, nil},
		{"from a domain", `<presence from="conference.example.com/n"/>`, false, nil},
		{"no from", `<presence/>`, false, nil},
		{"invalid from", `<presence from="r@@x/n"/>`, false, nil},
		{"bare presence", `<presence from="r@conference.example.com/n"/>`, true, func(t *testing.T, p OccupantPresence) {
			if p.Room != room || p.Nick != "n" || p.Affiliation != "" || p.Codes != nil {
				t.Fatalf("%+v", p)
			}
		}},
		{"nick with slash and spaces", `<presence from="r@conference.example.com/a b/c"/>`, true, func(t *testing.T, p OccupantPresence) {
			if p.Nick != "a b/c" {
				t.Fatalf("nick %q", p.Nick)
			}
		}},
		{"kicked for an error (333)", `<presence type="unavailable" from="r@conference.example.com/n"><x xmlns="http://jabber.org/protocol/muc#user"><item affiliation="none" role="none"/><status code="333"/><status code="110"/></x></presence>`, true,
			func(t *testing.T, p OccupantPresence) {
				if !p.Unavailable || !p.Self || !p.HasCode(StatusKickedError) {
					t.Fatalf("%+v", p)
				}
			}},
		{"room destroyed (332)", `<presence type="unavailable" from="r@conference.example.com/n"><x xmlns="http://jabber.org/protocol/muc#user"><status code="332"/></x></presence>`, true,
			func(t *testing.T, p OccupantPresence) {
				if !p.HasCode(StatusShutdown) || p.Self {
					t.Fatalf("%+v", p)
				}
			}},
		{"bad status codes are skipped", `<presence from="r@conference.example.com/n"><x xmlns="http://jabber.org/protocol/muc#user"><status code="x"/><status/><status code="110"/></x></presence>`, true,
			func(t *testing.T, p OccupantPresence) {
				if !reflect.DeepEqual(p.Codes, []int{110}) || !p.Self {
					t.Fatalf("%+v", p)
				}
			}},
		{"muc#user elements in another namespace are not MUC's", `<presence from="r@conference.example.com/n"><x xmlns="urn:other"><item affiliation="owner"/><status code="110"/></x></presence>`, true,
			func(t *testing.T, p OccupantPresence) {
				if p.Affiliation != "" || p.Self {
					t.Fatalf("%+v", p)
				}
			}},
		{"error without an error element", `<presence type="error" from="r@conference.example.com/n"/>`, true,
			func(t *testing.T, p OccupantPresence) {
				if p.Error == nil || p.Error.Condition != UndefinedCondition {
					t.Fatalf("%+v", p)
				}
			}},
		{"registration required (407)", `<presence xmlns="jabber:client" type="error" from="r@conference.example.com/n"><error type="auth"><registration-required xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/><text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas">members only</text></error></presence>`, true,
			func(t *testing.T, p OccupantPresence) {
				if p.Error == nil || p.Error.Condition != "registration-required" || p.Error.Type != ErrorAuth || p.Error.Text != "members only" {
					t.Fatalf("%+v", p.Error)
				}
			}},
		{"component namespace", `<presence xmlns="jabber:component:accept" from="r@conference.example.com/n"><x xmlns="http://jabber.org/protocol/muc#user"><item role="visitor"/></x></presence>`, true,
			func(t *testing.T, p OccupantPresence) {
				if p.Role != RoleVisitor {
					t.Fatalf("%+v", p)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			el, err := Parse([]byte(tc.xml))
			if err != nil {
				t.Fatal(err)
			}
			p, ok := ParseOccupantPresence(el)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v (%+v)", ok, tc.ok, p)
			}
			if tc.check != nil {
				tc.check(t, p)
			}
		})
	}
	if _, ok := ParseOccupantPresence(nil); ok {
		t.Fatal("nil presence accepted")
	}
}

func FuzzParseOccupantPresence(f *testing.F) {
	xmltest.AddFuzzSeeds(f, filepath.Join("testdata", "muc"))
	f.Add([]byte(`<presence type="error" from="r@c/n"><error><x xmlns="urn:x"/><text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas">t</text></error><x xmlns="http://jabber.org/protocol/muc#user"><status code="-1"/><status code="99999999999999999999"/></x></presence>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		el, err := Parse(data)
		if err != nil {
			return
		}
		p, ok := ParseOccupantPresence(el)
		if !ok {
			return
		}
		if p.Room == "" || p.Nick == "" || p.Stanza != el {
			t.Fatalf("accepted %+v", p)
		}
		if (el.AttrValue("type") == IQError) != (p.Error != nil) {
			t.Fatalf("type %q but error %v", el.AttrValue("type"), p.Error)
		}
		if p.Self != slices.Contains(p.Codes, StatusSelfPresence) {
			t.Fatalf("self %v with codes %v", p.Self, p.Codes)
		}
		if p.Error != nil {
			_ = p.Error.Error()
			_ = p.Error.Element().String()
		}
		// Whatever is accepted reads the same after a round trip (taking
		// elements without a namespace as in the inherited one, which is
		// what the encoder makes of them).
		p1, _ := ParseOccupantPresence(elemTestResolve(el, ""))
		again, err := Parse([]byte(el.String()))
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		p2, ok := ParseOccupantPresence(again)
		if !ok {
			t.Fatalf("re-serialised presence refused: %s", el)
		}
		p1.Stanza, p2.Stanza = nil, nil
		if !reflect.DeepEqual(p1, p2) {
			t.Fatalf("round trip changed the presence\n%+v\n%+v", p1, p2)
		}
	})
}
