package xmpp

import (
	"bytes"
	"encoding/xml"
	"path/filepath"
	"reflect"
	"testing"

	"focal/internal/xmltest"
)

// colibri2TestIQ is the IQ envelope of the colibri2 golden files.
type colibri2TestIQ struct {
	XMLName  xml.Name                    `xml:"jabber:client iq"`
	Type     string                      `xml:"type,attr"`
	ID       string                      `xml:"id,attr"`
	From     string                      `xml:"from,attr,omitempty"`
	To       string                      `xml:"to,attr,omitempty"`
	Modify   *Colibri2ConferenceModify   `xml:"jitsi:colibri2 conference-modify"`
	Modified *Colibri2ConferenceModified `xml:"jitsi:colibri2 conference-modified"`
	Error    *Colibri2StanzaError        `xml:"jabber:client error"`
}

func colibri2DecodeGolden(t testing.TB, name string) (colibri2TestIQ, []byte) {
	t.Helper()
	data := xmltest.Golden(t, filepath.Join("testdata", "colibri2", name))
	var iq colibri2TestIQ
	if err := xml.Unmarshal(data, &iq); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if iq.Modify == nil && iq.Modified == nil && iq.Error == nil {
		t.Fatalf("%s: no colibri2 payload", name)
	}
	return iq, data
}

func TestColibri2GoldenFilesRoundTrip(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "colibri2", "*.xml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			iq, data := colibri2DecodeGolden(t, filepath.Base(path))
			out, err := xml.Marshal(iq)
			if err != nil {
				t.Fatal(err)
			}
			xmltest.AssertSame(t, data, out)

			var again colibri2TestIQ
			if err := xml.Unmarshal(out, &again); err != nil {
				t.Fatalf("re-decode: %v", err)
			}
			if !reflect.DeepEqual(iq, again) {
				t.Fatalf("re-decoded struct differs:\n%+v\n%+v", iq, again)
			}
		})
	}
}

func TestColibri2ConferenceModifiedTransport(t *testing.T) {
	iq, _ := colibri2DecodeGolden(t, "conference-modified.xml")
	ep := iq.Modified.Endpoint("7b2f3c1d")
	if ep == nil || ep.Transport == nil {
		t.Fatal("no endpoint transport")
	}
	ice := ep.Transport.ICE
	if ice == nil || ice.Ufrag != "4b2j81hfnu4c4f" || ice.RTCPMux == nil || len(ice.Candidates) != 2 ||
		len(ice.WebSockets) != 1 || ice.Fingerprints[0].Setup != JingleSetupActPass {
		t.Fatalf("ice transport %+v", ice)
	}
	if ep.Transport.SCTP == nil || ep.Transport.SCTP.Port != 5000 || ep.Transport.SCTP.Role != Colibri2SCTPRoleServer {
		t.Fatalf("sctp %+v", ep.Transport.SCTP)
	}
	if iq.Modified.Endpoint("nobody") != nil || iq.Modified.Relay("r") != nil {
		t.Fatal("lookup of absent ids")
	}
}

func TestColibri2EndpointExpire(t *testing.T) {
	iq, _ := colibri2DecodeGolden(t, "endpoint-expire.xml")
	ep := iq.Modify.Endpoint("7b2f3c1d")
	if ep == nil || !ep.Expire || ep.Create || iq.Modify.Create || iq.Modify.RTCStatsEnabled != nil {
		t.Fatalf("modify %+v", iq.Modify)
	}
	out, err := xml.Marshal(Colibri2Endpoint{ID: "x", Expire: true})
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `<Colibri2Endpoint id="x" expire="true"></Colibri2Endpoint>` {
		t.Fatalf("unexpected attributes: %s", out)
	}
}

func TestColibri2RelayEndpoints(t *testing.T) {
	iq, _ := colibri2DecodeGolden(t, "relay-create.xml")
	r := iq.Modify.Relays[0]
	if r.ID != "jvb2-relay" || r.MeshID != Colibri2DefaultMeshID || !r.Transport.UseUniquePort ||
		r.Transport.SCTP.Role != Colibri2SCTPRoleClient || len(r.Endpoints) != 1 || r.Endpoints[0].Sources == nil {
		t.Fatalf("relay %+v", r)
	}
}

func TestColibri2ErrorResponse(t *testing.T) {
	iq, _ := colibri2DecodeGolden(t, "error-unknown-endpoint.xml")
	e := iq.Error
	if e.Type != "cancel" || e.Condition != "item-not-found" || e.Text != "Unknown endpoint 7b2f3c1d" {
		t.Fatalf("stanza error %+v", e)
	}
	if e.Colibri2.ParsedReason() != Colibri2UnknownEndpoint || e.Endpoint == nil || e.Endpoint.ID != "7b2f3c1d" {
		t.Fatalf("colibri2 parts %+v %+v", e.Colibri2, e.Endpoint)
	}
}

func TestColibri2ErrorReasonParsing(t *testing.T) {
	for in, want := range map[string]Colibri2ErrorReason{
		"conference_not_found":      Colibri2ConferenceNotFound,
		"CONFERENCE_not_FOUND":      Colibri2ConferenceNotFound,
		"conference_already_exists": Colibri2ConferenceAlreadyExists,
		"feature_not_implemented":   Colibri2FeatureNotImplemented,
		"graceful_shutdown":         Colibri2GracefulShutdown,
		"unknown_endpoint":          Colibri2UnknownEndpoint,
		"unspecified":               Colibri2Unspecified,
		"":                          Colibri2Unspecified,
		"invalid":                   Colibri2Unspecified,
	} {
		var e Colibri2Error
		doc := `<error xmlns="jitsi:colibri2" reason="` + in + `"/>`
		if in == "" {
			doc = `<error xmlns="jitsi:colibri2"/>`
		}
		if err := xml.Unmarshal([]byte(doc), &e); err != nil {
			t.Fatal(err)
		}
		if got := e.ParsedReason(); got != want {
			t.Errorf("reason %q parsed as %q, want %q", in, got, want)
		}
	}
	var nilErr *Colibri2Error
	if nilErr.ParsedReason() != Colibri2Unspecified {
		t.Error("nil error")
	}
	out, err := xml.Marshal(Colibri2Error{Reason: Colibri2GracefulShutdown})
	if err != nil {
		t.Fatal(err)
	}
	xmltest.AssertSame(t, []byte(`<error xmlns='jitsi:colibri2' reason='graceful_shutdown'/>`), out)
}

func TestColibri2HealthcheckAndRTCStats(t *testing.T) {
	out, err := xml.Marshal(Colibri2Healthcheck{})
	if err != nil {
		t.Fatal(err)
	}
	xmltest.AssertSame(t, []byte(`<healthcheck xmlns='http://jitsi.org/protocol/healthcheck'/>`), out)

	out, err = xml.Marshal(Colibri2ConferenceModify{MeetingID: "m"})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out, []byte("rtcstats-enabled")) {
		t.Fatalf("rtcstats-enabled written while unset: %s", out)
	}
	on := true
	out, _ = xml.Marshal(Colibri2ConferenceModify{MeetingID: "m", RTCStatsEnabled: &on})
	if !bytes.Contains(out, []byte(`rtcstats-enabled="true"`)) {
		t.Fatalf("rtcstats-enabled: %s", out)
	}
}

func TestColibri2ForceMuteWritesBothAttributes(t *testing.T) {
	out, err := xml.Marshal(Colibri2Endpoint{ID: "e", ForceMute: &Colibri2ForceMute{}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte(`<force-mute audio="false" video="false">`)) {
		t.Fatalf("force-mute: %s", out)
	}
}

func FuzzColibri2Unmarshal(f *testing.F) {
	xmltest.AddFuzzSeeds(f, filepath.Join("testdata", "colibri2"))
	f.Add([]byte(`<conference-modify xmlns="jitsi:colibri2" meeting-id="m" rtcstats-enabled="false"><connects><connect id="c" url="wss://x" protocol="mediajson" type="transcriber" audio="true"><http-header name="a" value="b"/><ping interval="10s"/><exports><export name="e"/></exports></connect></connects></conference-modify>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m Colibri2ConferenceModify
		if xml.Unmarshal(data, &m) == nil {
			out, err := xml.Marshal(&m)
			if err != nil {
				t.Fatalf("marshal of a decoded conference-modify: %v", err)
			}
			if err := xml.Unmarshal(out, &Colibri2ConferenceModify{}); err != nil {
				t.Fatalf("re-decode: %v\n%s", err, out)
			}
			for _, ep := range m.Endpoints {
				ep.HasCapability(Colibri2CapSourceNames)
			}
		}
		var r Colibri2ConferenceModified
		if xml.Unmarshal(data, &r) == nil {
			out, err := xml.Marshal(&r)
			if err != nil {
				t.Fatalf("marshal of a decoded conference-modified: %v", err)
			}
			if err := xml.Unmarshal(out, &Colibri2ConferenceModified{}); err != nil {
				t.Fatalf("re-decode: %v\n%s", err, out)
			}
		}
		var e Colibri2StanzaError
		if xml.Unmarshal(data, &e) == nil {
			if _, err := xml.Marshal(e); err != nil {
				t.Fatalf("marshal of a decoded error: %v", err)
			}
			e.Colibri2.ParsedReason()
		}
	})
}
