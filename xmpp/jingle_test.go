package xmpp

import (
	"encoding/xml"
	"path/filepath"
	"reflect"
	"testing"

	"focal/internal/xmltest"
)

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
	data := xmltest.Golden(t, filepath.Join("testdata", "jingle", name))
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
			xmltest.AssertSame(t, data, out)

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
	xmltest.AssertSame(t, []byte(in), out)
}

func FuzzJingleUnmarshal(f *testing.F) {
	xmltest.AddFuzzSeeds(f, filepath.Join("testdata", "jingle"))
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
	})
}
