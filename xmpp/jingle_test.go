package xmpp

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// jingleCanonNode is an XML element reduced to what matters on the wire:
// resolved names, attributes sorted, whitespace around text dropped, and
// children sorted by name (stably, so that the order among siblings of one
// name, such as payload types, still counts).
type jingleCanonNode struct {
	name     xml.Name
	attrs    []xml.Attr
	text     string
	children []*jingleCanonNode
}

func jingleCanonParse(data []byte) (*jingleCanonNode, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	var stack []*jingleCanonNode
	var root *jingleCanonNode
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &jingleCanonNode{name: t.Name}
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
					continue
				}
				n.attrs = append(n.attrs, a)
			}
			sort.Slice(n.attrs, func(i, j int) bool {
				a, b := n.attrs[i].Name, n.attrs[j].Name
				return a.Space < b.Space || (a.Space == b.Space && a.Local < b.Local)
			})
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			} else if root == nil {
				root = n
			}
			stack = append(stack, n)
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(t)
			}
		case xml.EndElement:
			n := stack[len(stack)-1]
			n.text = strings.TrimSpace(n.text)
			sort.SliceStable(n.children, func(i, j int) bool {
				a, b := n.children[i].name, n.children[j].name
				return a.Space < b.Space || (a.Space == b.Space && a.Local < b.Local)
			})
			stack = stack[:len(stack)-1]
		}
	}
	if root == nil {
		return nil, errors.New("no element")
	}
	return root, nil
}

func (n *jingleCanonNode) write(b *strings.Builder, depth int) {
	b.WriteString(strings.Repeat("  ", depth))
	b.WriteString("{" + n.name.Space + "}" + n.name.Local)
	for _, a := range n.attrs {
		b.WriteString(" ")
		if a.Name.Space != "" {
			b.WriteString("{" + a.Name.Space + "}")
		}
		b.WriteString(a.Name.Local + "=" + `"` + a.Value + `"`)
	}
	if n.text != "" {
		b.WriteString(" text=" + `"` + n.text + `"`)
	}
	b.WriteString("\n")
	for _, c := range n.children {
		c.write(b, depth+1)
	}
}

func (n *jingleCanonNode) String() string {
	var b strings.Builder
	n.write(&b, 0)
	return b.String()
}

// jingleAssertSameXML fails unless want and got are the same XML once
// canonicalised.
func jingleAssertSameXML(t *testing.T, want, got []byte) {
	t.Helper()
	w, err := jingleCanonParse(want)
	if err != nil {
		t.Fatalf("parse want: %v", err)
	}
	g, err := jingleCanonParse(got)
	if err != nil {
		t.Fatalf("parse got: %v\n%s", err, got)
	}
	ws, gs := w.String(), g.String()
	if ws == gs {
		return
	}
	wl, gl := strings.Split(ws, "\n"), strings.Split(gs, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var a, b string
		if i < len(wl) {
			a = wl[i]
		}
		if i < len(gl) {
			b = gl[i]
		}
		if a != b {
			t.Fatalf("XML differs at canonical line %d:\nwant: %s\ngot:  %s\n\nfull output:\n%s", i+1, a, b, got)
		}
	}
}

func jingleReadGolden(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// jingleTestIQ is the IQ envelope of the golden files.
type jingleTestIQ struct {
	XMLName xml.Name `xml:"jabber:client iq"`
	Type    string   `xml:"type,attr"`
	ID      string   `xml:"id,attr"`
	From    string   `xml:"from,attr,omitempty"`
	To      string   `xml:"to,attr,omitempty"`
	Jingle  *Jingle  `xml:"urn:xmpp:jingle:1 jingle"`
}

func jingleDecodeGolden(t testing.TB, name string) (jingleTestIQ, []byte) {
	t.Helper()
	data := jingleReadGolden(t, filepath.Join("testdata", "jingle", name))
	var iq jingleTestIQ
	if err := xml.Unmarshal(data, &iq); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if iq.Jingle == nil {
		t.Fatalf("%s: no jingle payload", name)
	}
	return iq, data
}

func TestJingleGoldenFilesRoundTrip(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "jingle", "*.xml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			iq, data := jingleDecodeGolden(t, filepath.Base(path))
			out, err := xml.Marshal(iq)
			if err != nil {
				t.Fatal(err)
			}
			jingleAssertSameXML(t, data, out)

			var again jingleTestIQ
			if err := xml.Unmarshal(out, &again); err != nil {
				t.Fatalf("re-decode: %v", err)
			}
			if !reflect.DeepEqual(iq, again) {
				t.Fatalf("re-decoded struct differs:\n%+v\n%+v", iq.Jingle, again.Jingle)
			}
		})
	}
}

// The session-initiate golden is what the focus builds from the default
// offer, the bridge's answer (../colibri2/conference-modified.xml) and the
// other participant's sources.
func TestJingleOfferWithBridgeTransportMatchesGolden(t *testing.T) {
	var bridge colibri2TestIQ
	if err := xml.Unmarshal(jingleReadGolden(t, filepath.Join("testdata", "colibri2", "conference-modified.xml")), &bridge); err != nil {
		t.Fatal(err)
	}
	ep := bridge.Modified.Endpoint("7b2f3c1d")
	if ep == nil || ep.Transport == nil || ep.Transport.ICE == nil || ep.Transport.SCTP == nil {
		t.Fatalf("bridge answer lacks the endpoint transport: %+v", ep)
	}
	feedback, err := SourceSetFromColibri2(bridge.Modified.Sources, true)
	if err != nil {
		t.Fatal(err)
	}

	opts := JingleDefaultOfferOptions()
	opts.StartAudioMuted = true
	j := NewJingleOffer("5f0ci9a7mn8qs", "focus@auth.meet.example.com/focus", opts)
	j.UseBridgeTransport(ep.Transport.ICE, ep.Transport.SCTP.Port)
	other := SourceSet{
		Sources: []Source{
			{SSRC: 1508256045, Media: SourceAudio, Name: "e1a9d2f0-a0", MSID: "e1a9d2f0-audio-1 4c5bb3e8-2d0e-4f6a-9a43-0d7e0e4a1f11"},
			{SSRC: 2250148151, Media: SourceVideo, Name: "e1a9d2f0-v0", MSID: "e1a9d2f0-video-1 9b0e7d55-61c4-4a0f-8c2e-5be6a4f6c0d2", VideoType: SourceVideoCamera},
			{SSRC: 3938372813, Media: SourceVideo, Name: "e1a9d2f0-v0", MSID: "e1a9d2f0-video-1 9b0e7d55-61c4-4a0f-8c2e-5be6a4f6c0d2", VideoType: SourceVideoCamera},
		},
		Groups: []SourceGroup{{Semantics: JingleSemanticsFID, Media: SourceVideo, SSRCs: []int64{2250148151, 3938372813}}},
	}
	j.Contents = JingleContentsWithSources(j.Contents, map[string]SourceSet{"e1a9d2f0": other, SourceOwnerBridge: feedback})
	j.BridgeSession = &JingleBridgeSession{ID: "d0f4e27c-3a61-4c1e-9a7b-52c8f0b1e6a3", Region: "eu-west-1"}

	iq := jingleTestIQ{Type: "set", ID: "8c1e2d7a0f4b", From: "focus@auth.meet.example.com/focus",
		To: "room1@conference.meet.example.com/7b2f3c1d", Jingle: j}
	out, err := xml.Marshal(iq)
	if err != nil {
		t.Fatal(err)
	}
	jingleAssertSameXML(t, jingleReadGolden(t, filepath.Join("testdata", "jingle", "session-initiate.xml")), out)
}

func TestJingleSessionAcceptFromClient(t *testing.T) {
	iq, _ := jingleDecodeGolden(t, "session-accept.xml")
	j := iq.Jingle
	if j.Action != JingleSessionAccept || j.SID != "5f0ci9a7mn8qs" {
		t.Fatalf("action/sid = %q/%q", j.Action, j.SID)
	}
	if n, ok := j.InitialLastN(); !ok || n != 25 {
		t.Fatalf("initial-last-n = %d, %v", n, ok)
	}
	tr := j.ICETransport()
	if tr == nil || tr.Ufrag != "Xq3A" || len(tr.Fingerprints) != 1 || tr.Fingerprints[0].Setup != JingleSetupActive || len(tr.Candidates) != 3 {
		t.Fatalf("transport = %+v", tr)
	}
	if c := tr.Candidates[2]; c.Protocol != "tcp" || c.TCPType != "active" || c.Port != 9 {
		t.Fatalf("tcp candidate = %+v", c)
	}
	if m := j.Content(JingleContentData).Transport.SCTPMap; m == nil || m.Number != 5000 || m.Streams != 0 {
		t.Fatalf("sctpmap = %+v", m)
	}
	if len(j.Groups) != 1 || j.Groups[0].Semantics != JingleGroupBundle || len(j.Groups[0].Contents) != 3 {
		t.Fatalf("groups = %+v", j.Groups)
	}

	set, err := SourceSetFromJingle(j.Contents)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.SSRCs(SourceAudio)) != 1 || len(set.SSRCs(SourceVideo)) != 6 || len(set.Groups) != 4 {
		t.Fatalf("sources = %v", set)
	}
	conf := NewConferenceSources(SourceValidator{})
	if _, err := conf.TryAdd("7b2f3c1d", set); err != nil {
		t.Fatalf("a real client's sources are rejected: %v", err)
	}

	// What the focus tells the bridge next (../colibri2/endpoint-update.xml).
	n, _ := j.InitialLastN()
	update := colibri2TestIQ{Type: "get", ID: "9e8d7c6b5a40", From: "focus@auth.meet.example.com/focus",
		To: "jvbbrewery@internal.auth.meet.example.com/jvb1",
		Modify: &Colibri2ConferenceModify{
			MeetingID: "2f8e3c6a-91d4-4b7e-a0f5-6c2d8e1b3a79",
			Endpoints: []Colibri2Endpoint{{
				ID:           "7b2f3c1d",
				Transport:    &Colibri2Transport{ICE: tr.Clone()},
				Sources:      set.Colibri2Sources("7b2f3c1d"),
				InitialLastN: &Colibri2InitialLastN{Value: n},
			}},
		}}
	out, err := xml.Marshal(update)
	if err != nil {
		t.Fatal(err)
	}
	jingleAssertSameXML(t, jingleReadGolden(t, filepath.Join("testdata", "colibri2", "endpoint-update.xml")), out)
}

func TestJingleSourceAddFromClientEncodesAsGoldenJSON(t *testing.T) {
	iq, _ := jingleDecodeGolden(t, "source-add.xml")
	if iq.Jingle.Action.Canonical() != JingleSourceAdd {
		t.Fatalf("action %q", iq.Jingle.Action)
	}
	if len(iq.Jingle.Extra) != 1 || iq.Jingle.Extra[0].XMLName.Local != "traceparent" ||
		iq.Jingle.Extra[0].Attr("version") != "00" || iq.Jingle.Extra[0].Text == "" {
		t.Fatalf("unknown child not kept: %+v", iq.Jingle.Extra)
	}
	set, err := SourceSetFromJingle(iq.Jingle.Contents)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range set.Sources {
		if s.VideoType != SourceVideoDesktop || s.Media != SourceVideo {
			t.Fatalf("source %+v", s)
		}
	}

	jsonIQ, _ := jingleDecodeGolden(t, "source-add-json.xml")
	want := jsonIQ.Jingle.JSONMessage.Text
	if got := JingleEncodeJSONSources(map[string]SourceSet{"7b2f3c1d": set}); got != want {
		t.Fatalf("JSON encoding:\ngot  %s\nwant %s", got, want)
	}
	decoded, err := JingleDecodeJSONSources(want)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(decoded, map[string]SourceSet{"7b2f3c1d": set}) {
		t.Fatalf("decoded %v, want %v", decoded, set)
	}
}

func TestJingleSessionInfoAndTerminate(t *testing.T) {
	info, _ := jingleDecodeGolden(t, "session-info-ice-restart.xml")
	if info.Jingle.ICEState == nil || info.Jingle.ICEState.State != JingleICEStateFailed {
		t.Fatalf("ice-state %+v", info.Jingle.ICEState)
	}
	if bs := info.Jingle.BridgeSession; bs == nil || !bs.ICERestart || bs.Restart || bs.ID == "" {
		t.Fatalf("bridge-session %+v", bs)
	}
	term, _ := jingleDecodeGolden(t, "session-terminate.xml")
	if r := term.Jingle.Reason; r == nil || r.Condition != JingleReasonSuccess || r.Text != "moving" {
		t.Fatalf("reason %+v", r)
	}
}

func TestJingleActionCanonical(t *testing.T) {
	for in, want := range map[JingleAction]JingleAction{
		JingleAddSource:        JingleSourceAdd,
		JingleRemoveSource:     JingleSourceRemove,
		JingleSourceAdd:        JingleSourceAdd,
		JingleSessionAccept:    JingleSessionAccept,
		JingleTransportReplace: JingleTransportReplace,
	} {
		if got := in.Canonical(); got != want {
			t.Errorf("%q.Canonical() = %q, want %q", in, got, want)
		}
	}
}

func TestJingleReasonWithForeignChild(t *testing.T) {
	in := `<jingle xmlns="urn:xmpp:jingle:1" action="session-terminate" sid="s1"><reason><general-error/><text>jingle session failed</text><restart xmlns="urn:example:x"/></reason></jingle>`
	var j Jingle
	if err := xml.Unmarshal([]byte(in), &j); err != nil {
		t.Fatal(err)
	}
	if j.Reason.Condition != JingleReasonGeneralError || j.Reason.Text != "jingle session failed" || len(j.Reason.Extra) != 1 {
		t.Fatalf("reason %+v", j.Reason)
	}
	out, err := xml.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	jingleAssertSameXML(t, []byte(in), out)
}

func TestJingleOfferOptions(t *testing.T) {
	payloadNames := func(d *JingleRTPDescription) []string {
		var out []string
		for _, pt := range d.PayloadTypes {
			out = append(out, pt.Name)
		}
		return out
	}
	hasFB := func(d *JingleRTPDescription, typ string) bool {
		for _, pt := range d.PayloadTypes {
			for _, fb := range pt.RTCPFeedback {
				if fb.Type == typ {
					return true
				}
			}
		}
		return false
	}
	hasExt := func(d *JingleRTPDescription, uri string) bool {
		for _, e := range d.HeaderExtensions {
			if e.URI == uri {
				return true
			}
		}
		return false
	}

	t.Run("defaults", func(t *testing.T) {
		j := NewJingleOffer("s", "focus@x/focus", JingleDefaultOfferOptions())
		if len(j.Contents) != 3 || j.StartMuted != nil {
			t.Fatalf("contents %d, startmuted %+v", len(j.Contents), j.StartMuted)
		}
		v := j.Content(JingleContentVideo).Description
		if got := strings.Join(payloadNames(v), ","); got != "AV1,VP8,H264,VP9,rtx,rtx,rtx,rtx" {
			t.Fatalf("video codecs %s", got)
		}
		if hasFB(v, "goog-remb") || !hasFB(v, "transport-cc") {
			t.Fatal("default video feedback: want transport-cc and no goog-remb")
		}
		for _, off := range []string{JingleExtTOffset, JingleExtRID, JingleExtVideoContentType, JingleExtFramemarking, JingleExtVideoLayersAllocation} {
			if hasExt(v, off) {
				t.Fatalf("disabled extension %s offered", off)
			}
		}
		a := j.Content(JingleContentAudio).Description
		if a.MaxPTime != 60 || strings.Join(payloadNames(a), ",") != "opus,telephone-event" {
			t.Fatalf("audio %+v", a)
		}
		if v, _ := a.PayloadTypes[0].Parameter("useinbandfec"); v != "1" {
			t.Fatal("opus without useinbandfec")
		}
	})
	t.Run("no video", func(t *testing.T) {
		o := JingleDefaultOfferOptions()
		o.Video = false
		j := NewJingleOffer("s", "focus@x/focus", o)
		if j.Content(JingleContentVideo) != nil || len(j.Groups[0].Contents) != 2 {
			t.Fatalf("video offered: %+v", j.Groups)
		}
	})
	t.Run("remb without tcc, no rtx", func(t *testing.T) {
		o := JingleDefaultOfferOptions()
		o.TCC, o.REMB, o.RTX = false, true, false
		j := NewJingleOffer("s", "focus@x/focus", o)
		v := j.Content(JingleContentVideo).Description
		if !hasFB(v, "goog-remb") || hasFB(v, "transport-cc") || hasExt(v, JingleExtTransportCC) {
			t.Fatal("want goog-remb and no transport-cc")
		}
		if strings.Contains(strings.Join(payloadNames(v), ","), "rtx") {
			t.Fatal("rtx offered")
		}
		if hasExt(j.Content(JingleContentAudio).Description, JingleExtTransportCC) {
			t.Fatal("audio transport-cc offered")
		}
	})
	t.Run("red enabled", func(t *testing.T) {
		cfg := JingleDefaultCodecConfig()
		cfg.Opus.RED.Enabled = true
		cfg.VP9.Enabled = false
		cfg.H264.RTXPT = -1
		o := JingleDefaultOfferOptions()
		o.Codecs = &cfg
		j := NewJingleOffer("s", "focus@x/focus", o)
		a := j.Content(JingleContentAudio).Description
		if got := strings.Join(payloadNames(a), ","); got != "red,opus,telephone-event" {
			t.Fatalf("audio codecs %s", got)
		}
		if a.PayloadTypes[0].Parameters[0].Value != "111/111" {
			t.Fatalf("red fmtp %+v", a.PayloadTypes[0].Parameters)
		}
		if _, ok := a.PayloadTypes[1].Parameter("useinbandfec"); ok {
			t.Fatal("in-band FEC offered together with RED")
		}
		if got := strings.Join(payloadNames(j.Content(JingleContentVideo).Description), ","); got != "AV1,VP8,H264,rtx,rtx" {
			t.Fatalf("video codecs %s", got)
		}
	})
	t.Run("start muted", func(t *testing.T) {
		o := JingleDefaultOfferOptions()
		o.StartVideoMuted = true
		j := NewJingleOffer("s", "focus@x/focus", o)
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

func TestJingleJSONSourcesDecode(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    map[string]SourceSet
		wantErr bool
	}{
		{
			name: "all four lists, strings for ssrcs, truthy v",
			in:   `{"sources":{"ep":[[{"s":"1","n":"ep-v0","m":"x y","v":true}],[["s","1",2],["f",1,3]],[{"s":4,"n":"ep-a0"}],[["f",4,5]]]}}`,
			want: map[string]SourceSet{"ep": {
				Sources: []Source{
					{SSRC: 1, Media: SourceVideo, Name: "ep-v0", MSID: "x y", VideoType: SourceVideoDesktop},
					{SSRC: 4, Media: SourceAudio, Name: "ep-a0"},
				},
				Groups: []SourceGroup{
					{Semantics: JingleSemanticsSIM, Media: SourceVideo, SSRCs: []int64{1, 2}},
					{Semantics: JingleSemanticsFID, Media: SourceVideo, SSRCs: []int64{1, 3}},
					{Semantics: JingleSemanticsFID, Media: SourceAudio, SSRCs: []int64{4, 5}},
				},
			}},
		},
		{
			name: "trailing lists missing, falsy v",
			in:   `{"sources":{"a":[[{"s":7,"v":""}]],"b":[]}}`,
			want: map[string]SourceSet{"a": {Sources: []Source{{SSRC: 7, Media: SourceVideo}}}, "b": {}},
		},
		{name: "other json message", in: `{"type":"av_moderation"}`, wantErr: true},
		{name: "not json", in: `{"sources":`, wantErr: true},
		{name: "ssrc not a number", in: `{"sources":{"a":[[{"s":{}}]]}}`, wantErr: true},
		{name: "ssrc overflow", in: `{"sources":{"a":[[{"s":99999999999999999999}]]}}`, wantErr: true},
		{name: "unknown semantics", in: `{"sources":{"a":[[],[["x",1,2]]]}}`, wantErr: true},
		{name: "empty group", in: `{"sources":{"a":[[],[[]]]}}`, wantErr: true},
		{name: "source list not a list", in: `{"sources":{"a":[{}]}}`, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := JingleDecodeJSONSources(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("want error, got %v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
	if _, err := JingleDecodeJSONSources(`{"type":"room_metadata"}`); !errors.Is(err, ErrJingleNoJSONSources) {
		t.Fatalf("err = %v, want ErrJingleNoJSONSources", err)
	}
}

func TestJingleJSONSourcesEncode(t *testing.T) {
	got := JingleEncodeJSONSources(map[string]SourceSet{
		"b": {Sources: []Source{{SSRC: 3, Media: SourceAudio, Name: `a"<b>`}}},
		"a": {
			Sources: []Source{{SSRC: 1, Media: SourceVideo, VideoType: SourceVideoCamera}},
			Groups:  []SourceGroup{{Semantics: JingleSemanticsFID, Media: SourceAudio, SSRCs: []int64{5, 6}}},
		},
	})
	want := `{"sources":{"a":[[{"s":1}],[],[],[["f",5,6]]],"b":[[],[],[{"s":3,"n":"a\"<b>"}]]}}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if got := JingleEncodeJSONSources(nil); got != `{"sources":{}}` {
		t.Fatalf("empty: %s", got)
	}
}

func jingleFuzzSeeds(f *testing.F, dir string) {
	files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.xml"))
	for _, path := range files {
		data := jingleReadGolden(f, path)
		f.Add(data)
		// The payload alone, which is what the fuzz targets decode.
		d := xml.NewDecoder(bytes.NewReader(data))
		depth := 0
		for {
			tok, err := d.Token()
			if err != nil {
				break
			}
			if se, ok := tok.(xml.StartElement); ok {
				depth++
				if depth == 2 {
					var raw JingleRawElement
					if d.DecodeElement(&raw, &se) == nil {
						if out, err := xml.Marshal(raw); err == nil {
							f.Add(out)
						}
					}
					break
				}
			}
		}
	}
}

func FuzzJingleUnmarshal(f *testing.F) {
	jingleFuzzSeeds(f, "jingle")
	f.Add([]byte(`<jingle xmlns="urn:xmpp:jingle:1" action="source-remove" sid="x"><content name="audio"><source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="-1"/></content><reason><a/><b/></reason></jingle>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var j Jingle
		if err := xml.Unmarshal(data, &j); err != nil {
			return
		}
		out, err := xml.Marshal(&j)
		if err != nil {
			t.Fatalf("marshal of a decoded jingle: %v", err)
		}
		var again Jingle
		if err := xml.Unmarshal(out, &again); err != nil {
			t.Fatalf("re-decode: %v\n%s", err, out)
		}
		j.ICETransport().Clone()
		j.InitialLastN()
		set, err := SourceSetFromJingle(j.Contents)
		if err != nil {
			return
		}
		conf := NewConferenceSources(SourceValidator{})
		if _, err := conf.TryAdd("a", set); err == nil {
			_, _ = conf.TryRemove("a", set.StripSimulcast())
		}
		_, _ = JingleDecodeJSONSources(JingleEncodeJSONSources(map[string]SourceSet{"a": set}))
		_ = set.Colibri2Sources("a")
	})
}

func FuzzJSONSources(f *testing.F) {
	f.Add(`{"sources":{"7b2f3c1d":[[{"s":2967019462,"n":"7b2f3c1d-v1","m":"m 1","v":"d"}],[["f",2967019462,485337911]],[{"s":1}],[["s",1,2]]]}}`)
	f.Add(`{"sources":{"a":[[{"s":"1"}],[],[]],"jvb":[]}}`)
	f.Add(`{"sources":null}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, text string) {
		got, err := JingleDecodeJSONSources(text)
		if err != nil {
			return
		}
		enc := JingleEncodeJSONSources(got)
		again, err := JingleDecodeJSONSources(enc)
		if err != nil {
			t.Fatalf("re-decode of %s: %v", enc, err)
		}
		for owner, set := range got {
			a := again[owner]
			if len(a.Sources) != len(set.Sources) || len(a.Groups) != len(set.Groups) {
				t.Fatalf("owner %q: %v became %v", owner, set, a)
			}
		}
		for _, set := range got {
			_, _ = SourceValidator{}.CheckAdd(NewConferenceSources(SourceValidator{}), "x", set)
		}
	})
}
