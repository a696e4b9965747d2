// Package stanzatest reads the xmpp package's golden stanzas for the tests
// of the packages built on it.
package stanzatest

import (
	"encoding/xml"
	"path/filepath"
	"runtime"
	"testing"

	"focal/internal/xmltest"
	"focal/xmpp"
)

// IQ is the envelope of the golden IQs: a Jingle, a Colibri2
// conference-modify, or the bridge's conference-modified answer.
type IQ struct {
	XMLName  xml.Name                         `xml:"jabber:client iq"`
	Type     string                           `xml:"type,attr"`
	ID       string                           `xml:"id,attr"`
	From     string                           `xml:"from,attr,omitempty"`
	To       string                           `xml:"to,attr,omitempty"`
	Jingle   *xmpp.Jingle                     `xml:"urn:xmpp:jingle:1 jingle"`
	Modify   *xmpp.Colibri2ConferenceModify   `xml:"jitsi:colibri2 conference-modify"`
	Modified *xmpp.Colibri2ConferenceModified `xml:"jitsi:colibri2 conference-modified"`
}

// Path is the path of a golden file below xmpp/testdata, wherever the test
// runs from.
func Path(elem ...string) string {
	_, here, _, _ := runtime.Caller(0)
	return filepath.Join(append([]string{filepath.Dir(here), "..", "..", "xmpp", "testdata"}, elem...)...)
}

// Golden returns the bytes of a golden file below xmpp/testdata.
func Golden(t testing.TB, elem ...string) []byte {
	t.Helper()
	return xmltest.Golden(t, Path(elem...))
}

// Decode reads a golden IQ below xmpp/testdata.
func Decode(t testing.TB, elem ...string) IQ {
	t.Helper()
	var iq IQ
	if err := xml.Unmarshal(Golden(t, elem...), &iq); err != nil {
		t.Fatalf("%s: %v", Path(elem...), err)
	}
	return iq
}
