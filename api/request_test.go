package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"testing"

	"focal/proto"
	"focal/xmpp"
)

// requestTestProps returns the properties of r as a map.
func requestTestProps(r *focalpb.ConferenceRequest) map[string]string {
	m := make(map[string]string, len(r.Properties))
	for _, p := range r.Properties {
		m[p.Name] = p.Value
	}
	return m
}

func TestParseConferenceRequestFromJitsiMeet(t *testing.T) {
	// As jitsi-meet posts it before opening an XMPP connection (visitors).
	body := `{
		"room": "lively-otters-dance@conference.meet.jitsi",
		"machineUid": "2c4bd1f0a9d7e3b56f8e1a0c9b7d5e3f",
		"sessionId": "0f6c2a4e",
		"identity": "alice@auth.meet.jitsi",
		"vnode": "v1",
		"focusJid": "ignored@auth.meet.jitsi",
		"ready": false,
		"properties": {
			"rtcstatsEnabled": false,
			"visitors-version": 1,
			"visitor": "true",
			"startAudioMuted": 10,
			"startVideoMuted": "10",
			"ratio": 0.25,
			"big": 1e3,
			"neg": -7,
			"nothing": null
		}
	}`
	req, err := ParseConferenceRequest(strings.NewReader(body), "eyJhbGciOi.x.y")
	if err != nil {
		t.Fatal(err)
	}
	if req.Room != "lively-otters-dance@conference.meet.jitsi" || req.MachineUid != "2c4bd1f0a9d7e3b56f8e1a0c9b7d5e3f" ||
		req.SessionId != "0f6c2a4e" || req.Identity != "alice@auth.meet.jitsi" || req.Vnode != "v1" ||
		req.Token != "eyJhbGciOi.x.y" || req.From != "" {
		t.Fatalf("request %v", req)
	}
	want := map[string]string{
		"rtcstatsEnabled":  "false",
		"visitors-version": "1",
		"visitor":          "true",
		"startAudioMuted":  "10",
		"startVideoMuted":  "10",
		"ratio":            "0.25",
		"big":              "1e3",
		"neg":              "-7",
		"nothing":          "",
	}
	if got := requestTestProps(req); !reflect.DeepEqual(got, want) {
		t.Fatalf("properties %v\nwant %v", got, want)
	}
}

type requestTestFailingReader struct{}

func (requestTestFailingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestParseConferenceRequestCases(t *testing.T) {
	const room = `"room":"r@conference.example.com"`
	props := func(n int) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"p%d":"v"`, i)
		}
		return `{` + room + `,"properties":{` + b.String() + `}}`
	}
	padded := func(size int) string {
		s := `{` + room + `}`
		return s + strings.Repeat(" ", size-len(s))
	}
	long := func(n int) string { return strings.Repeat("x", n) }
	for _, tc := range []struct {
		name  string
		body  string
		r     io.Reader // instead of body
		token string
		err   string // substring; empty: must succeed
		check func(t *testing.T, r *focalpb.ConferenceRequest)
	}{
		{name: "empty body", body: "", err: "malformed JSON"},
		{name: "not JSON", body: "room=r@conference.example.com", err: "malformed JSON"},
		{name: "truncated", body: `{` + room, err: "malformed JSON"},
		{name: "array", body: `[` + `{` + room + `}]`, err: "malformed JSON"},
		{name: "room not a string", body: `{"room":5}`, err: "malformed JSON"},
		{name: "ready not a bool", body: `{` + room + `,"ready":"yes"}`, err: "malformed JSON"},
		{name: "properties not an object", body: `{` + room + `,"properties":["a"]}`, err: "malformed JSON"},
		{name: "trailing object", body: `{` + room + `} {}`, err: "trailing data"},
		{name: "trailing garbage", body: `{` + room + `} x`, err: "trailing data"},
		{name: "trailing brace", body: `{` + room + `}}`, err: "trailing data"},
		{name: "trailing bracket", body: `{` + room + `}]`, err: "trailing data"},
		{name: "trailing whitespace", body: `{` + room + "}\r\n\t "},
		{name: "null body", body: `null`, err: "no 'room' specified"},
		{name: "missing room", body: `{"machineUid":"m"}`, err: "no 'room' specified"},
		{name: "empty room", body: `{"room":""}`, err: "no 'room' specified"},
		{name: "room without localpart", body: `{"room":"conference.example.com"}`, err: "invalid room JID"},
		{name: "room with resource", body: `{"room":"r@conference.example.com/focus"}`, err: "invalid room JID"},
		{name: "room with two @", body: `{"room":"a@b@conference.example.com"}`, err: "invalid room JID"},
		{name: "room with a control character", body: `{"room":"r\u0001@conference.example.com"}`, err: "invalid room JID"},
		{name: "body at the cap", body: padded(MaxRequestBody)},
		{name: "body over the cap", body: padded(MaxRequestBody + 1), err: "body larger than 65536 bytes"},
		{name: "huge body", r: io.MultiReader(strings.NewReader(`{`+room+`,"x":"`), strings.NewReader(long(10<<20))), err: "body larger than"},
		{name: "read error", r: requestTestFailingReader{}, err: "reading body: connection reset"},
		{name: "object property", body: `{` + room + `,"properties":{"a":{"b":1}}}`, err: "property 'a': value must be a string, number or boolean"},
		{name: "array property", body: `{` + room + `,"properties":{"a":[1]}}`, err: "property 'a': value must be"},
		{name: "empty property name", body: `{` + room + `,"properties":{"":"v"}}`, err: "property name must have 1 to 256 bytes"},
		{name: "property name too long", body: `{` + room + `,"properties":{"` + long(257) + `":"v"}}`, err: "property name must have 1 to 256 bytes"},
		{name: "property name at the cap", body: `{` + room + `,"properties":{"` + long(256) + `":"v"}}`},
		{name: "property value too long", body: `{` + room + `,"properties":{"a":"` + long(1025) + `"}}`, err: "property 'a' value longer than 1024 bytes"},
		{name: "property value at the cap", body: `{` + room + `,"properties":{"a":"` + long(1024) + `"}}`},
		{name: "64 properties", body: props(64)},
		{name: "65 properties", body: props(65), err: "more than 64 properties"},
		{name: "machineUid too long", body: `{` + room + `,"machineUid":"` + long(1025) + `"}`, err: "'machineUid' is longer than 1024 bytes"},
		{name: "sessionId too long", body: `{` + room + `,"sessionId":"` + long(1025) + `"}`, err: "'sessionId' is longer"},
		{name: "identity too long", body: `{` + room + `,"identity":"` + long(1025) + `"}`, err: "'identity' is longer"},
		{name: "vnode too long", body: `{` + room + `,"vnode":"` + long(1025) + `"}`, err: "'vnode' is longer"},
		{name: "focusJid too long", body: `{` + room + `,"focusJid":"` + long(1025) + `"}`, err: "'focusJid' is longer"},
		{name: "token at the cap", body: `{` + room + `}`, token: long(xmpp.MaxTokenLen),
			check: func(t *testing.T, r *focalpb.ConferenceRequest) {
				if len(r.Token) != xmpp.MaxTokenLen {
					t.Fatalf("token of %d bytes", len(r.Token))
				}
			}},
		{name: "token over the cap", body: `{` + room + `}`, token: long(xmpp.MaxTokenLen + 1), err: "token is longer than 16384 bytes"},
		{name: "unknown fields are ignored", body: `{"x-new":{"deep":[1,2,{"a":null}]},` + room + `,"n":3,"properties":{"a":"b"},"z":"last"}`,
			check: func(t *testing.T, r *focalpb.ConferenceRequest) {
				if got := requestTestProps(r); !reflect.DeepEqual(got, map[string]string{"a": "b"}) {
					t.Fatalf("properties %v", got)
				}
			}},
		{name: "booleans and numbers become strings", body: `{` + room + `,"properties":{"t":true,"f":false,"i":10,"z":0,"d":-1.5e-3,"s":" 7 "}}`,
			check: func(t *testing.T, r *focalpb.ConferenceRequest) {
				want := map[string]string{"t": "true", "f": "false", "i": "10", "z": "0", "d": "-1.5e-3", "s": " 7 "}
				if got := requestTestProps(r); !reflect.DeepEqual(got, want) {
					t.Fatalf("properties %v, want %v", got, want)
				}
			}},
		{name: "escaped strings are decoded", body: `{"room":"r\u0040conference.example.com","properties":{"a\u002db":"\u00e9"}}`,
			check: func(t *testing.T, r *focalpb.ConferenceRequest) {
				if r.Room != "r@conference.example.com" || requestTestProps(r)["a-b"] != "é" {
					t.Fatalf("request %v", r)
				}
			}},
		{name: "no properties", body: `{` + room + `,"properties":{}}`,
			check: func(t *testing.T, r *focalpb.ConferenceRequest) {
				if len(r.Properties) != 0 {
					t.Fatalf("properties %v", r.Properties)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.r
			if r == nil {
				r = strings.NewReader(tc.body)
			}
			req, err := ParseConferenceRequest(r, tc.token)
			if tc.err != "" {
				if err == nil {
					t.Fatalf("accepted: %v", req)
				}
				if !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %q does not contain %q", err, tc.err)
				}
				if req != nil {
					t.Fatalf("request %v with error %v", req, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseConferenceRequest: %v", err)
			}
			if req.Room != "r@conference.example.com" {
				t.Fatalf("room %q", req.Room)
			}
			if tc.check != nil {
				tc.check(t, req)
			}
		})
	}
}

func TestResponseOf(t *testing.T) {
	full := ResponseOf(&focalpb.ConferenceResponse{
		Room:      "r@conference.example.com",
		Ready:     true,
		FocusJid:  "focus@auth.example.com",
		Vnode:     "v1",
		SessionId: "s",
		Identity:  "alice@auth.example.com",
		Properties: []*focalpb.Property{
			{Name: "authentication", Value: "false"},
			{Name: "sipGatewayEnabled", Value: "true"},
		},
	})
	data, err := json.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"room":       "r@conference.example.com",
		"ready":      true,
		"focusJid":   "focus@auth.example.com",
		"vnode":      "v1",
		"sessionId":  "s",
		"identity":   "alice@auth.example.com",
		"properties": map[string]any{"authentication": "false", "sipGatewayEnabled": "true"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %s", data)
	}

	// Empty fields are left out; ready is always there.
	empty, err := json.Marshal(ResponseOf(&focalpb.ConferenceResponse{}))
	if err != nil {
		t.Fatal(err)
	}
	if string(empty) != `{"ready":false}` {
		t.Fatalf("empty response %s", empty)
	}
	// The live-queue answer: not ready, not live.
	q, err := json.Marshal(ResponseOf(&focalpb.ConferenceResponse{
		Room: "r@conference.example.com", Properties: []*focalpb.Property{{Name: "live", Value: "false"}}}))
	if err != nil {
		t.Fatal(err)
	}
	if string(q) != `{"room":"r@conference.example.com","ready":false,"properties":{"live":"false"}}` {
		t.Fatalf("queue response %s", q)
	}
}

func FuzzParseConferenceRequest(f *testing.F) {
	f.Add([]byte(`{"room":"r@conference.example.com","machineUid":"m","properties":{"rtcstatsEnabled":true,"visitors-version":1,"startAudioMuted":"9"}}`), "")
	f.Add([]byte(`{"room":"r@conference.example.com"}}`), "tok")
	f.Add([]byte(`{"room":"R\u00c9@Conference.Example.com","properties":{"a":null,"b":-0.0e+1,"c":[]}}`), "Bearer x")
	f.Add([]byte(`{"room":"r@c","properties":{"":1}} `), "")
	f.Add([]byte(`null`), "")
	f.Fuzz(func(t *testing.T, body []byte, token string) {
		req, err := ParseConferenceRequest(strings.NewReader(string(body)), token)
		if err != nil {
			if req != nil {
				t.Fatalf("request and error %v", err)
			}
			return
		}
		if len(body) > MaxRequestBody {
			t.Fatalf("accepted a body of %d bytes", len(body))
		}
		if req.Token != token || len(token) > xmpp.MaxTokenLen {
			t.Fatalf("token %q", req.Token)
		}
		if _, err := xmpp.ParseRoomJID(req.Room); err != nil {
			t.Fatalf("accepted room %q: %v", req.Room, err)
		}
		for _, v := range []string{req.Room, req.SessionId, req.MachineUid, req.Identity, req.Vnode} {
			if len(v) > xmpp.MaxAttrLen {
				t.Fatalf("accepted a field of %d bytes", len(v))
			}
		}
		if len(req.Properties) > xmpp.MaxConferenceProperties {
			t.Fatalf("%d properties", len(req.Properties))
		}
		names := make([]string, 0, len(req.Properties))
		for _, p := range req.Properties {
			if p.Name == "" || len(p.Name) > xmpp.MaxPropertyNameLen || len(p.Value) > xmpp.MaxPropertyValueLen {
				t.Fatalf("property %q=%q", p.Name, p.Value)
			}
			names = append(names, p.Name)
		}
		sort.Strings(names)
		for i := 1; i < len(names); i++ {
			if names[i] == names[i-1] {
				t.Fatalf("property %q twice", names[i])
			}
		}
		// The room goes into XMPP stanzas (the focus's join presence): it
		// must survive XML.
		el, err := xmpp.Parse([]byte(xmpp.JoinPresence(req.Room, "focus").String()))
		if err != nil {
			t.Fatalf("room %q does not make a well-formed presence: %v", req.Room, err)
		}
		if got := el.AttrValue("to"); got != req.Room+"/focus" {
			t.Fatalf("room %q came back as %q", req.Room, got)
		}
	})
}
