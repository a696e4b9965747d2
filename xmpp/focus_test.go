package xmpp

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func focusTestGolden(name string) string {
	return filepath.Join("testdata", "focus", name)
}

// focusTestConference parses a golden IQ and its <conference/> payload.
func focusTestConference(t testing.TB, name string) (*Element, ConferenceIQ) {
	t.Helper()
	iq, _ := elemTestGolden(t, focusTestGolden(name))
	c, err := ParseConferenceIQ(iq.Child(NSFocus, "conference"))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return iq, c
}

func TestConferenceIQRequestFromLibJitsiMeet(t *testing.T) {
	iq, c := focusTestConference(t, "conference-request.xml")
	want := ConferenceIQ{
		Room:       "lively-otters-dance@conference.meet.jitsi",
		MachineUID: "2c4bd1f0a9d7e3b56f8e1a0c9b7d5e3f",
		Properties: []Property{
			{"rtcstatsEnabled", "false"},
			{"visitors-version", "1"},
			{"startAudioMuted", "10"},
			{"startVideoMuted", "10"},
		},
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got  %+v\nwant %+v", c, want)
	}
	if v, ok := c.Property("visitors-version"); !ok || v != "1" {
		t.Fatalf("Property(visitors-version) = %q, %v", v, ok)
	}
	if _, ok := c.Property("visitor"); ok {
		t.Fatal("Property of an absent name")
	}

	// Serialised again it is the same request: without 'ready', which only
	// answers carry.
	again := NewIQ(iq.AttrValue("type"), iq.AttrValue("from"), iq.AttrValue("to"), iq.AttrValue("id"), c.Element())
	elemTestAssertSameAsGolden(t, focusTestGolden("conference-request.xml"), again)
}

func TestConferenceIQAnswerMatchesGolden(t *testing.T) {
	req, _ := elemTestGolden(t, focusTestGolden("conference-request.xml"))
	answer := ConferenceIQ{
		Room:     "lively-otters-dance@conference.meet.jitsi",
		Ready:    true,
		FocusJID: "focus@auth.meet.jitsi",
		Properties: []Property{
			{"authentication", "false"},
			{"sipGatewayEnabled", "false"},
			{"visitors-supported", "false"},
		},
	}
	elemTestAssertSameAsGolden(t, focusTestGolden("conference-result.xml"), ResultFor(req, answer.Element()))

	_, parsed := focusTestConference(t, "conference-result.xml")
	if !reflect.DeepEqual(parsed, answer) {
		t.Fatalf("parsed answer %+v, want %+v", parsed, answer)
	}
}

func TestConferenceIQAuthenticatedAnswerMatchesGolden(t *testing.T) {
	answer := ConferenceIQ{
		Room:      "board-meeting@conference.meet.jitsi",
		FocusJID:  "focus@auth.meet.jitsi",
		SessionID: "0f6c2a4e-9b7d-4c1e-8a3f-5d2b1c0e9f8a",
		Identity:  "alice@auth.meet.jitsi",
		Properties: []Property{
			{"authentication", "true"},
			{"externalAuth", "false"},
			{"sipGatewayEnabled", "true"},
		},
	}
	iq := NewIQ(IQResult, "focus.meet.jitsi", "alice@auth.meet.jitsi/Xy12Ab34", "a0b1c2d3:sendIQ", answer.Element())
	elemTestAssertSameAsGolden(t, focusTestGolden("conference-result-authenticated.xml"), iq)

	_, parsed := focusTestConference(t, "conference-result-authenticated.xml")
	if !reflect.DeepEqual(parsed, answer) {
		t.Fatalf("parsed answer %+v, want %+v", parsed, answer)
	}
}

func TestConferenceIQElementOmitsEmptyAttributes(t *testing.T) {
	el := ConferenceIQ{Room: "r@conference.example.com", Properties: []Property{{"p", ""}}}.Element()
	want := `<conference xmlns="http://jitsi.org/protocol/focus" room="r@conference.example.com"><property name="p"/></conference>`
	if got := el.String(); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	c, err := ParseConferenceIQ(el)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := c.Property("p"); !ok || v != "" {
		t.Fatalf("empty property value: %q, %v", v, ok)
	}
}

func focusTestProps(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `<property name="p%d" value="v"/>`, i)
	}
	return b.String()
}

func TestParseConferenceIQValid(t *testing.T) {
	const room = `room="r@conference.example.com"`
	for _, tc := range []struct {
		name  string
		xml   string
		check func(t *testing.T, c ConferenceIQ)
	}{
		{"attributes at 1 KiB", `<conference xmlns="http://jitsi.org/protocol/focus" ` + room + ` machine-uid="` + strings.Repeat("m", MaxAttrLen) + `"/>`,
			func(t *testing.T, c ConferenceIQ) {
				if len(c.MachineUID) != MaxAttrLen {
					t.Fatalf("machine-uid of %d bytes", len(c.MachineUID))
				}
			}},
		{"token above 1 KiB", `<conference xmlns="http://jitsi.org/protocol/focus" ` + room + ` token="` + strings.Repeat("t", 4096) + `"/>`,
			func(t *testing.T, c ConferenceIQ) {
				if len(c.Token) != 4096 {
					t.Fatalf("token of %d bytes", len(c.Token))
				}
			}},
		{"token at 16 KiB", `<conference xmlns="http://jitsi.org/protocol/focus" ` + room + ` token="` + strings.Repeat("t", MaxTokenLen) + `"/>`, nil},
		{"64 properties", `<conference xmlns="http://jitsi.org/protocol/focus" ` + room + `>` + focusTestProps(MaxConferenceProperties) + `</conference>`,
			func(t *testing.T, c ConferenceIQ) {
				if len(c.Properties) != MaxConferenceProperties {
					t.Fatalf("%d properties", len(c.Properties))
				}
			}},
		{"property name and value at their caps", `<conference xmlns="http://jitsi.org/protocol/focus" ` + room + `><property name="` +
			strings.Repeat("n", MaxPropertyNameLen) + `" value="` + strings.Repeat("v", MaxPropertyValueLen) + `"/></conference>`, nil},
		{"un-namespaced property inherits the focus namespace", `<conference xmlns="http://jitsi.org/protocol/focus" ` + room + `><property name="a" value="b"/></conference>`,
			func(t *testing.T, c ConferenceIQ) {
				if v, _ := c.Property("a"); v != "b" {
					t.Fatalf("properties %v", c.Properties)
				}
			}},
		{"every attribute", `<f:conference xmlns:f="http://jitsi.org/protocol/focus" ` + room + ` ready="1" focusjid="focus@auth.example.com" session-id="s" machine-uid="m" identity="i" vnode="v1" token="jwt" xml:lang="en" unknown="x"/>`,
			func(t *testing.T, c ConferenceIQ) {
				want := ConferenceIQ{Room: "r@conference.example.com", Ready: true, FocusJID: "focus@auth.example.com",
					SessionID: "s", MachineUID: "m", Identity: "i", VNode: "v1", Token: "jwt"}
				if !reflect.DeepEqual(c, want) {
					t.Fatalf("got %+v", c)
				}
			}},
		{"ready false", `<conference xmlns="http://jitsi.org/protocol/focus" ` + room + ` ready="false"/>`, nil},
		{"duplicate property names are kept in order", `<conference xmlns="http://jitsi.org/protocol/focus" ` + room + `><property name="a" value="1"/><property name="a" value="2"/></conference>`,
			func(t *testing.T, c ConferenceIQ) {
				if v, _ := c.Property("a"); v != "1" || len(c.Properties) != 2 {
					t.Fatalf("properties %v", c.Properties)
				}
			}},
		{"room with escaped localpart", `<conference xmlns="http://jitsi.org/protocol/focus" room="my\20room@conference.example.com"/>`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			el, err := Parse([]byte(tc.xml))
			if err != nil {
				t.Fatal(err)
			}
			c, err := ParseConferenceIQ(el)
			if err != nil {
				t.Fatalf("ParseConferenceIQ: %v", err)
			}
			if tc.check != nil {
				tc.check(t, c)
			}
		})
	}
}

func TestParseConferenceIQInvalid(t *testing.T) {
	const open = `<conference xmlns="http://jitsi.org/protocol/focus" `
	const room = `room="r@conference.example.com"`
	long := func(n int) string { return strings.Repeat("x", n) }
	for _, tc := range []struct {
		name string
		xml  string // empty: a nil element
		text string // substring of the error text
	}{
		{"nil element", "", "expected <conference"},
		{"wrong namespace", `<conference xmlns="urn:other" ` + room + `/>`, "expected <conference"},
		{"wrong name", `<conferences xmlns="http://jitsi.org/protocol/focus" ` + room + `/>`, "expected <conference"},
		{"no room", open + `machine-uid="m"/>`, "No 'room' specified."},
		{"empty room", open + `room=""/>`, "No 'room' specified."},
		{"room without localpart", open + `room="conference.example.com"/>`, "invalid room JID 'conference.example.com'"},
		{"room with resource", open + `room="r@conference.example.com/focus"/>`, "invalid room JID"},
		{"room with empty localpart", open + `room="@conference.example.com"/>`, "invalid room JID"},
		{"room with empty domain", open + `room="r@"/>`, "invalid room JID"},
		{"room with two @", open + `room="a@b@conference.example.com"/>`, "invalid room JID"},
		{"room with space in domain", open + `room="r@conference example.com"/>`, "invalid room JID"},
		{"room too long", open + `room="` + long(MaxAttrLen-10) + `@conference.example.com"/>`, "attribute 'room' is longer than 1024 bytes"},
		{"machine-uid too long", open + room + ` machine-uid="` + long(MaxAttrLen+1) + `"/>`, "attribute 'machine-uid' is longer than 1024 bytes"},
		{"session-id too long", open + room + ` session-id="` + long(MaxAttrLen+1) + `"/>`, "attribute 'session-id' is longer than 1024 bytes"},
		{"focusjid too long", open + room + ` focusjid="` + long(MaxAttrLen+1) + `"/>`, "attribute 'focusjid'"},
		{"unknown attribute too long", open + room + ` x-other="` + long(MaxAttrLen+1) + `"/>`, "attribute 'x-other'"},
		{"token too long", open + room + ` token="` + long(MaxTokenLen+1) + `"/>`, "attribute 'token' is longer than 16384 bytes"},
		{"ready not a boolean", open + room + ` ready="yes"/>`, "attribute 'ready' is not a boolean"},
		{"unknown child", open + room + `><bridge-session xmlns="http://jitsi.org/protocol/focus"/></conference>`, "unexpected element <bridge-session"},
		{"property in another namespace", open + room + `><property xmlns="urn:other" name="a" value="b"/></conference>`, "unexpected element <property xmlns='urn:other'>"},
		{"65 properties", open + room + `>` + focusTestProps(MaxConferenceProperties+1) + `</conference>`, "more than 64 properties"},
		{"property without name", open + room + `><property value="v"/></conference>`, "property without a name"},
		{"property with empty name", open + room + `><property name="" value="v"/></conference>`, "property without a name"},
		{"property name too long", open + room + `><property name="` + long(MaxPropertyNameLen+1) + `" value="v"/></conference>`, "property name longer than 256 bytes"},
		{"property value too long", open + room + `><property name="p" value="` + long(MaxPropertyValueLen+1) + `"/></conference>`, "property 'p' value longer than 1024 bytes"},
		{"bad property before the room check", open + `><property/></conference>`, "property without a name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var el *Element
			if tc.xml != "" {
				var err error
				if el, err = Parse([]byte(tc.xml)); err != nil {
					t.Fatal(err)
				}
			}
			_, err := ParseConferenceIQ(el)
			var se StanzaError
			if !errors.As(err, &se) {
				t.Fatalf("error %v (%T), want a StanzaError", err, err)
			}
			if se.Condition != BadRequest || se.Type != ErrorModify {
				t.Fatalf("error %v, want bad-request (modify)", se)
			}
			if !strings.Contains(se.Text, tc.text) {
				t.Fatalf("error text %q does not contain %q", se.Text, tc.text)
			}
			// The error is what the focus answers with.
			answer := ErrorFor(NewIQ(IQSet, "client@example.com/r", "focus.example.com", "id1", el), se)
			got, ok := ErrorOf(answer)
			if !ok || got.Condition != BadRequest || got.Text != se.Text {
				t.Fatalf("error answer %s reads back as %+v", answer, got)
			}
		})
	}
}

// focusTestFuzzSeeds adds the golden files and their <conference/> payloads.
func focusTestFuzzSeeds(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "focus", "*.xml"))
	if len(files) == 0 {
		f.Fatal("no golden files")
	}
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		el, err := Parse(data)
		if err != nil {
			f.Fatal(err)
		}
		f.Add([]byte(el.Child(NSFocus, "conference").String()))
	}
}

func FuzzParseConferenceIQ(f *testing.F) {
	focusTestFuzzSeeds(f)
	f.Add([]byte(`<conference xmlns="http://jitsi.org/protocol/focus" room="r@c.example" ready="0" token="t"><property name="&#xD;&amp;" value="&#x9;"/></conference>`))
	f.Add([]byte(`<conference xmlns="http://jitsi.org/protocol/focus" room="R\40x@C.Example" xmlns:q="urn:q" q:room="x"/>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		el, err := Parse(data)
		if err != nil {
			return
		}
		if el.Name.Local == KindIQ {
			el = el.FirstChild()
		}
		c, err := ParseConferenceIQ(el)
		if err != nil {
			if ConditionOf(err) != BadRequest {
				t.Fatalf("error %v is not a bad-request", err)
			}
			return
		}
		if c.Room == "" || len(c.Properties) > MaxConferenceProperties {
			t.Fatalf("accepted %+v", c)
		}
		out := c.Element().String()
		again, err := Parse([]byte(out))
		if err != nil {
			t.Fatalf("re-parse: %v\n%s", err, out)
		}
		c2, err := ParseConferenceIQ(again)
		if err != nil {
			t.Fatalf("re-serialised request refused: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(c, c2) {
			t.Fatalf("round trip changed the request\nfirst:  %+v\nsecond: %+v\nwire: %s", c, c2, out)
		}
	})
}
