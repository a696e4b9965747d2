package xmpp

import (
	"path/filepath"
	"strings"
	"testing"

	"focal/internal/xmltest"
)

func discoTestGolden(name string) string {
	return filepath.Join("testdata", "disco", name)
}

func TestRoomInfoQueryMatchesGolden(t *testing.T) {
	iq := RoomInfoQuery("lively-otters-dance@conference.meet.jitsi")
	if iq.AttrValue("id") == "" || !IsIQRequest(iq) {
		t.Fatalf("%s is not an IQ request with an id", iq)
	}
	iq.SetAttr("id", "info1")
	elemTestAssertSameAsGolden(t, discoTestGolden("room-info-query.xml"), iq)
}

func TestRoomInfoMeetingIDFromMucMeetingID(t *testing.T) {
	iq, _ := elemTestGolden(t, discoTestGolden("room-info-meeting-id.xml"))
	const want = "6c3a9e2f-8d41-4b7a-9f05-2e1d7c4b8a90"
	if got := ParseRoomInfo(iq).MeetingID; got != want {
		t.Fatalf("meeting id %q, want %q", got, want)
	}
	if got := ParseRoomInfo(iq.Child(NSDiscoInfo, "query")).MeetingID; got != want {
		t.Fatalf("meeting id from the query %q, want %q", got, want)
	}
}

// A breakout room (Jitsi's mod_muc_breakout_rooms) names its main room;
// a main room names none.
func TestRoomInfoOfABreakoutRoom(t *testing.T) {
	iq, _ := elemTestGolden(t, discoTestGolden("room-info-breakout.xml"))
	want := RoomInfo{MeetingID: "2f1d8c6e-breakout", MainRoom: "main@conference.meet.jitsi"}
	if got := ParseRoomInfo(iq); got != want {
		t.Fatalf("breakout room info %+v, want %+v", got, want)
	}
	main, _ := elemTestGolden(t, discoTestGolden("room-info-meeting-id.xml"))
	if got := ParseRoomInfo(main).MainRoom; got != "" {
		t.Fatalf("a main room's main room %q", got)
	}
}

func TestRoomInfoWithoutMeetingID(t *testing.T) {
	iq, _ := elemTestGolden(t, discoTestGolden("room-info-plain.xml"))
	if got := ParseRoomInfo(iq).MeetingID; got != "" {
		t.Fatalf("meeting id %q from a room without one", got)
	}
}

func TestRoomInfoRefusesUnusableMeetingIDs(t *testing.T) {
	form := func(formType, id string) *Element {
		x := NewElement(NSDataForm, "x", "type", "result")
		if formType != "" {
			x.Append(NewElement(NSDataForm, "field", "var", "FORM_TYPE").Append(NewElement(NSDataForm, "value").WithText(formType)))
		}
		x.Append(NewElement(NSDataForm, "field", "var", FieldRoomInfoMeetingID).Append(NewElement(NSDataForm, "value").WithText(id)))
		return NewElement(NSDiscoInfo, "query").Append(x)
	}
	for _, tc := range []struct {
		name, formType, id, want string
	}{
		{"roominfo form", FormTypeRoomInfo, "abc", "abc"},
		{"form without FORM_TYPE", "", "abc", "abc"},
		{"trimmed", FormTypeRoomInfo, "  abc\n", "abc"},
		{"another form", "urn:example:form", "abc", ""},
		{"blank", FormTypeRoomInfo, "   ", ""},
		{"too long", FormTypeRoomInfo, strings.Repeat("a", MaxMeetingIDLen+1), ""},
		{"control character", FormTypeRoomInfo, "a\x01b", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ParseRoomInfo(form(tc.formType, tc.id)).MeetingID; got != tc.want {
				t.Fatalf("meeting id %q, want %q", got, tc.want)
			}
		})
	}
	if got := ParseRoomInfo(nil); got != (RoomInfo{}) {
		t.Fatalf("nil answer read as %+v", got)
	}
}

func FuzzParseRoomInfo(f *testing.F) {
	xmltest.AddFuzzSeeds(f, filepath.Join("testdata", "disco"))
	f.Add([]byte(`<query xmlns="http://jabber.org/protocol/disco#info"><x xmlns="jabber:x:data"><field var="FORM_TYPE"/><field var="muc#roominfo_meetingId"><value>x</value></field></x></query>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		el, err := Parse(data)
		if err != nil {
			return
		}
		id := ParseRoomInfo(el).MeetingID
		if id == "" {
			return
		}
		if !validMeetingID(id) || strings.TrimSpace(id) != id {
			t.Fatalf("accepted meeting id %q", id)
		}
		// It survives a round trip of the answer.
		again, err := Parse([]byte(el.String()))
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if got := ParseRoomInfo(again).MeetingID; got != id {
			t.Fatalf("meeting id %q, after a round trip %q", id, got)
		}
	})
}
