package caps

import (
	"fmt"
	"testing"

	"focal/xmpp"
)

func mustParse(t testing.TB, s string) *xmpp.Element {
	t.Helper()
	el, err := xmpp.Parse([]byte(s))
	if err != nil {
		t.Fatalf("parse %s: %v", s, err)
	}
	return el
}

// XEP-0115's own examples (§5.2 and §5.3), the second with two
// identities in two languages and an extended information form.
func TestVerOfTheSpecificationsExamples(t *testing.T) {
	for _, tc := range []struct{ name, query, ver string }{
		{"simple", `<query xmlns='http://jabber.org/protocol/disco#info'>
			<identity category='client' name='Exodus 0.9.1' type='pc'/>
			<feature var='http://jabber.org/protocol/caps'/>
			<feature var='http://jabber.org/protocol/disco#items'/>
			<feature var='http://jabber.org/protocol/disco#info'/>
			<feature var='http://jabber.org/protocol/muc'/>
		</query>`, "QgayPKawpkPSDYmwT/WM94uAlu0="},
		{"complex", `<query xmlns='http://jabber.org/protocol/disco#info'>
			<identity xml:lang='en' category='client' name='Psi 0.11' type='pc'/>
			<identity xml:lang='el' category='client' name='Ψ 0.11' type='pc'/>
			<feature var='http://jabber.org/protocol/caps'/>
			<feature var='http://jabber.org/protocol/disco#info'/>
			<feature var='http://jabber.org/protocol/disco#items'/>
			<feature var='http://jabber.org/protocol/muc'/>
			<x xmlns='jabber:x:data' type='result'>
				<field var='FORM_TYPE' type='hidden'><value>urn:xmpp:dataforms:softwareinfo</value></field>
				<field var='ip_version'><value>ipv4</value><value>ipv6</value></field>
				<field var='os'><value>Mac</value></field>
				<field var='os_version'><value>10.5.1</value></field>
				<field var='software'><value>Psi</value></field>
				<field var='software_version'><value>0.11</value></field>
			</x>
		</query>`, "q07IKJEyjvHSyhy//CH0CxmKi8w="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ver, err := Ver(mustParse(t, tc.query))
			if err != nil || ver != tc.ver {
				t.Errorf("Ver = %q, %v; want %q", ver, err, tc.ver)
			}
		})
	}
}

// XEP-0115 §5.4: an answer with a duplicate has no hash.
func TestDuplicatesHaveNoVer(t *testing.T) {
	for name, q := range map[string]string{
		"feature":  `<query xmlns='http://jabber.org/protocol/disco#info'><feature var='a'/><feature var='a'/></query>`,
		"identity": `<query xmlns='http://jabber.org/protocol/disco#info'><identity category='client' type='web'/><identity category='client' type='web'/></query>`,
		"form type": `<query xmlns='http://jabber.org/protocol/disco#info'>
			<x xmlns='jabber:x:data' type='result'><field var='FORM_TYPE'><value>t</value></field></x>
			<x xmlns='jabber:x:data' type='result'><field var='FORM_TYPE'><value>t</value></field></x></query>`,
	} {
		if ver, err := Ver(mustParse(t, q)); err == nil {
			t.Errorf("%s twice: ver %q, want an error", name, ver)
		}
	}
}

func TestOfReadsOnlySHA1(t *testing.T) {
	for _, tc := range []struct {
		presence string
		ok       bool
	}{
		{`<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://jitsi.org/jitsi-meet' ver='8Ep4XKWo5D8zRE6mqCu7GdyfnJc='/></presence>`, true},
		{`<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-256' node='n' ver='x'/></presence>`, false},
		{`<presence><c xmlns='http://jabber.org/protocol/caps' node='n' ver='x'/></presence>`, false},
		{`<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' ver=''/></presence>`, false},
		{fmt.Sprintf(`<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' ver='%0100d'/></presence>`, 0), false},
		{`<presence/>`, false},
	} {
		c, ok := Of(mustParse(t, tc.presence))
		if ok != tc.ok {
			t.Errorf("Of(%s) = %+v, %v; want ok %v", tc.presence, c, ok, tc.ok)
		}
	}
}

// The cache keeps features only under the ver they hash to, and no more
// vers than it holds.
func TestCacheLearnsOnlyWhatTheAnswerProves(t *testing.T) {
	answer := mustParse(t, `<query xmlns='http://jabber.org/protocol/disco#info'>
		<identity category='client' type='web' name='focal'/>
		<feature var='urn:xmpp:jingle:apps:rtp:video'/><feature var='urn:xmpp:jingle:apps:rtp:audio'/></query>`)
	ver, err := Ver(answer)
	if err != nil {
		t.Fatal(err)
	}
	k := NewCache(2)
	if k.Learn(Caps{Hash: "sha-1", Ver: "bm90IHRoZSBoYXNoIG9mIHRoZSBhbnN3ZXI="}, answer) {
		t.Error("learnt features under a ver the answer does not hash to")
	}
	if _, ok := k.Features(Caps{Ver: "bm90IHRoZSBoYXNoIG9mIHRoZSBhbnN3ZXI="}); ok {
		t.Error("features kept under a forged ver")
	}
	c := Caps{Hash: "sha-1", Ver: ver}
	if !k.Learn(c, answer) {
		t.Fatal("did not learn a proved answer")
	}
	f, ok := k.Features(c)
	if !ok || len(f) != 2 || f[0] != "urn:xmpp:jingle:apps:rtp:audio" || f[1] != "urn:xmpp:jingle:apps:rtp:video" {
		t.Errorf("features %v %v", f, ok)
	}
	for i := range 5 {
		q := mustParse(t, fmt.Sprintf(`<query xmlns='http://jabber.org/protocol/disco#info'><feature var='f%d'/></query>`, i))
		v, _ := Ver(q)
		k.Learn(Caps{Hash: "sha-1", Ver: v}, q)
	}
	if n := len(k.features); n > 2 {
		t.Errorf("the cache holds %d vers, more than its 2", n)
	}
	var nilCache *Cache
	if _, ok := nilCache.Features(c); ok || nilCache.Learn(c, answer) {
		t.Error("a nil cache knows something")
	}
}

// FuzzVer: whatever a client answers or announces, reading it neither
// panics nor proves a ver it does not hash to.
func FuzzVer(f *testing.F) {
	f.Add(`<query xmlns='http://jabber.org/protocol/disco#info'><identity category='client' type='web'/><feature var='a'/></query>`, "x")
	f.Add(`<query xmlns='http://jabber.org/protocol/disco#info'><x xmlns='jabber:x:data' type='result'><field var='FORM_TYPE'><value>t</value></field><field var='b'/></x></query>`, "y")
	f.Fuzz(func(t *testing.T, doc, ver string) {
		el, err := xmpp.Parse([]byte(doc))
		if err != nil {
			return
		}
		got, err := Ver(el)
		k := NewCache(4)
		learnt := k.Learn(Caps{Hash: "sha-1", Ver: ver}, el)
		if learnt && (err != nil || got != ver) {
			t.Fatalf("learnt ver %q for an answer hashing to %q (%v)", ver, got, err)
		}
		_, _ = Of(el)
	})
}
