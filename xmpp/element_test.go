package xmpp

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// elemTestGolden reads and parses a golden file.
func elemTestGolden(t testing.TB, path string) (*Element, []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	el, err := Parse(data)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return el, data
}

// elemTestResolve returns a copy of e in which an element without a namespace
// has the one it inherits. That is what the element means on the wire: the
// encoder writes no declaration for it, so it takes its parent's namespace.
func elemTestResolve(e *Element, inherited string) *Element {
	if e == nil {
		return nil
	}
	c := &Element{Name: e.Name, Text: e.Text}
	if c.Name.Space == "" {
		c.Name.Space = inherited
	}
	if len(e.Attr) > 0 {
		c.Attr = append([]xml.Attr(nil), e.Attr...)
	}
	for _, ch := range e.Children {
		c.Children = append(c.Children, elemTestResolve(ch, c.Name.Space))
	}
	return c
}

// elemTestCanon reduces e to what two equivalent stanzas share: the stream
// namespace removed (jabber:client and the unset default mean the same),
// inherited namespaces resolved, attributes sorted and whitespace-only text
// (golden-file indentation) dropped. Child order is kept: it matters for
// properties and sources.
func elemTestCanon(e *Element) *Element {
	c := e.Clone()
	StripStreamNamespace(c, NSClient)
	c = elemTestResolve(c, "")
	var walk func(*Element)
	walk = func(e *Element) {
		if strings.TrimSpace(e.Text) == "" {
			e.Text = ""
		}
		slices.SortStableFunc(e.Attr, func(a, b xml.Attr) int {
			if c := strings.Compare(a.Name.Space, b.Name.Space); c != 0 {
				return c
			}
			return strings.Compare(a.Name.Local, b.Name.Local)
		})
		if len(e.Attr) == 0 {
			e.Attr = nil
		}
		for _, ch := range e.Children {
			walk(ch)
		}
	}
	walk(c)
	return c
}

// elemTestAssertSame fails unless want and got are the same stanza once
// canonicalised.
func elemTestAssertSame(t testing.TB, want, got *Element) {
	t.Helper()
	w, g := elemTestCanon(want), elemTestCanon(got)
	if !reflect.DeepEqual(w, g) {
		t.Fatalf("elements differ\nwant: %s\ngot:  %s", w, g)
	}
}

// elemTestAssertSameAsGolden serialises got, parses it back, and compares it
// with the golden file.
func elemTestAssertSameAsGolden(t testing.TB, path string, got *Element) {
	t.Helper()
	want, _ := elemTestGolden(t, path)
	reparsed, err := Parse([]byte(got.String()))
	if err != nil {
		t.Fatalf("re-parse of %s: %v", got, err)
	}
	elemTestAssertSame(t, want, reparsed)
}

func elemTestGoldenFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*", "*.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	return files
}

func TestElementGoldenFilesRoundTrip(t *testing.T) {
	for _, path := range elemTestGoldenFiles(t) {
		t.Run(path, func(t *testing.T) {
			el, _ := elemTestGolden(t, path)
			out := el.String()
			again, err := Parse([]byte(out))
			if err != nil {
				t.Fatalf("re-parse: %v\n%s", err, out)
			}
			if !reflect.DeepEqual(el, again) {
				t.Fatalf("round trip changed the element\nfirst:  %s\nsecond: %s", out, again)
			}
			if again.String() != out {
				t.Fatalf("serialisation is not stable\nfirst:  %s\nsecond: %s", out, again)
			}
		})
	}
}

func TestElementEncodeDeclaresNamespacesOnlyWhereTheyChange(t *testing.T) {
	iq := NewIQ(IQSet, "", "room@conference.example.com", "x1",
		NewElement(NSMUCAdmin, "query").Append(
			NewElement(NSMUCAdmin, "item", "affiliation", "owner"),
			NewElement("", "reason").WithText("because"),
			NewElement("urn:other", "ext").Append(NewElement("urn:other", "deep")),
			NewElement(NSMUCAdmin, "item", "affiliation", "member"),
		))
	want := `<iq type="set" id="x1" to="room@conference.example.com">` +
		`<query xmlns="http://jabber.org/protocol/muc#admin">` +
		`<item affiliation="owner"/>` +
		`<reason>because</reason>` +
		`<ext xmlns="urn:other"><deep/></ext>` +
		`<item affiliation="member"/>` +
		`</query></iq>`
	if got := iq.String(); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	// The un-namespaced <reason> inherits muc#admin, as on the wire.
	el, err := Parse([]byte(want))
	if err != nil {
		t.Fatal(err)
	}
	q := el.Child(NSMUCAdmin, "query")
	if r := q.Child(NSMUCAdmin, "reason"); r == nil || r.Text != "because" {
		t.Fatalf("reason not in the muc#admin namespace: %#v", q.Children)
	}
	if d := q.Child("urn:other", "ext").Child("urn:other", "deep"); d == nil {
		t.Fatal("nested element lost its inherited namespace")
	}
	if len(el.Attr) != 3 {
		t.Fatalf("namespace declarations kept as attributes: %v", el.Attr)
	}
}

func TestElementEscapingRoundTrip(t *testing.T) {
	const hostile = "a<b>&c\"d'e\nf\rg\th ]]> \u00e9\u20ac\U0001F600"
	el := NewElement("urn:test", "e", "v", hostile).WithText(hostile)
	out := el.String()
	again, err := Parse([]byte(out))
	if err != nil {
		t.Fatalf("parse %s: %v", out, err)
	}
	if got := again.AttrValue("v"); got != hostile {
		t.Fatalf("attribute value %q, want %q (wire: %s)", got, hostile, out)
	}
	if again.Text != hostile {
		t.Fatalf("text %q, want %q (wire: %s)", again.Text, hostile, out)
	}
}

func TestElementNamespacedAttributesRoundTrip(t *testing.T) {
	const in = `<e xmlns="urn:e" xmlns:p="urn:p" xmlns:q="urn:q" plain="0" p:x="1" q:y="2" xml:lang="de"/>`
	el, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []xml.Attr{
		{Name: xml.Name{Local: "plain"}, Value: "0"},
		{Name: xml.Name{Space: "urn:p", Local: "x"}, Value: "1"},
		{Name: xml.Name{Space: "urn:q", Local: "y"}, Value: "2"},
		{Name: xml.Name{Space: "http://www.w3.org/XML/1998/namespace", Local: "lang"}, Value: "de"},
	}
	if !reflect.DeepEqual(el.Attr, want) {
		t.Fatalf("attributes %v, want %v", el.Attr, want)
	}
	out := el.String()
	if !strings.Contains(out, `xml:lang="de"`) {
		t.Fatalf("xml:lang not written with the xml prefix: %s", out)
	}
	// Each namespace is declared once: a repeated attribute, even an xmlns
	// declaration, makes the stanza ill-formed for Prosody's parser.
	two := NewElement("urn:e", "e").Append()
	two.Attr = append(two.Attr,
		xml.Attr{Name: xml.Name{Space: "urn:p", Local: "x"}, Value: "1"},
		xml.Attr{Name: xml.Name{Space: "urn:p", Local: "y"}, Value: "2"})
	if w := two.String(); strings.Count(w, "xmlns:") != 1 {
		t.Fatalf("namespace declared more than once: %s", w)
	}
	if !strings.Contains(out, `xml:lang="de"`) {
		t.Fatalf("xml:lang not written with the xml prefix: %s", out)
	}
	again, err := Parse([]byte(out))
	if err != nil {
		t.Fatalf("parse %s: %v", out, err)
	}
	if !reflect.DeepEqual(again, el) {
		t.Fatalf("round trip changed attribute namespaces\nin:  %v\nout: %v\nwire: %s", el.Attr, again.Attr, out)
	}
}

func TestElementParseResolvesPrefixes(t *testing.T) {
	el, err := Parse([]byte(`<?xml version="1.0"?><!-- c --><s:a xmlns:s="urn:s"><s:b>t</s:b><c xmlns="urn:c"/></s:a>`))
	if err != nil {
		t.Fatal(err)
	}
	if el.Name != (xml.Name{Space: "urn:s", Local: "a"}) || el.Attr != nil {
		t.Fatalf("root %v attrs %v", el.Name, el.Attr)
	}
	if b := el.Child("urn:s", "b"); b == nil || b.Text != "t" {
		t.Fatalf("children %v", el.Children)
	}
	if el.Child("urn:c", "c") == nil {
		t.Fatalf("children %v", el.Children)
	}
	want := `<a xmlns="urn:s"><b>t</b><c xmlns="urn:c"/></a>`
	if got := el.String(); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestElementParseErrors(t *testing.T) {
	for _, in := range []string{
		"",
		"   ",
		"<a>",
		"<a><b></a>",
		"<a></b>",
		"<a x='1' x>",
		"not xml",
		"<a>\x01</a>",
	} {
		if el, err := Parse([]byte(in)); err == nil {
			t.Errorf("Parse(%q) = %s, want an error", in, el)
		}
	}
}

func TestElementAccessors(t *testing.T) {
	e := NewElement("urn:x", "e", "a", "1", "b", "2", "odd")
	if len(e.Attr) != 2 {
		t.Fatalf("attrs %v: a trailing name without value must be ignored", e.Attr)
	}
	if v, ok := e.LookupAttr("a"); !ok || v != "1" {
		t.Fatalf("LookupAttr(a) = %q, %v", v, ok)
	}
	if _, ok := e.LookupAttr("c"); ok {
		t.Fatal("LookupAttr of a missing attribute")
	}
	e.SetAttr("a", "3")
	e.SetAttr("b", "")
	if e.AttrValue("a") != "3" || len(e.Attr) != 1 {
		t.Fatalf("after SetAttr: %v", e.Attr)
	}
	e.SetAttr("absent", "")
	if len(e.Attr) != 1 {
		t.Fatalf("setting an absent attribute to empty added it: %v", e.Attr)
	}
	var nilEl *Element
	if nilEl.AttrValue("a") != "" || nilEl.Child("", "x") != nil || nilEl.FirstChild() != nil || nilEl.Clone() != nil {
		t.Fatal("nil element accessors")
	}
	if e.FirstChild() != nil {
		t.Fatal("FirstChild of a leaf")
	}
	c1 := NewElement("urn:x", "c", "n", "1")
	c2 := NewElement("urn:y", "c", "n", "2")
	c3 := NewElement("urn:x", "c", "n", "3")
	e.Append(c1, nil, c2, c3)
	if len(e.Children) != 3 {
		t.Fatalf("Append kept a nil child: %d children", len(e.Children))
	}
	if e.FirstChild() != c1 || e.Child("urn:y", "c") != c2 || e.Child("", "c") != c1 {
		t.Fatal("Child lookup")
	}
	if got := e.ChildrenNamed("urn:x", "c"); len(got) != 2 || got[0] != c1 || got[1] != c3 {
		t.Fatalf("ChildrenNamed(urn:x) = %v", got)
	}
	if got := e.ChildrenNamed("", "c"); len(got) != 3 {
		t.Fatalf("ChildrenNamed(any) = %v", got)
	}

	clone := e.Clone()
	if !reflect.DeepEqual(clone, e) {
		t.Fatal("clone differs")
	}
	clone.Children[0].SetAttr("n", "changed")
	clone.SetAttr("a", "changed")
	clone.Children = clone.Children[:1]
	if c1.AttrValue("n") != "1" || e.AttrValue("a") != "3" || len(e.Children) != 3 {
		t.Fatal("changing the clone changed the original")
	}
}

type elemTestPayload struct {
	XMLName xml.Name `xml:"urn:test payload"`
	ID      string   `xml:"id,attr"`
	Items   []string `xml:"item"`
	Note    string   `xml:"note,omitempty"`
}

func TestElementOfAndDecode(t *testing.T) {
	in := elemTestPayload{ID: "p1", Items: []string{"a", "b&c"}, Note: "n"}
	el, err := ElementOf(in)
	if err != nil {
		t.Fatal(err)
	}
	if el.Name != (xml.Name{Space: "urn:test", Local: "payload"}) || el.AttrValue("id") != "p1" {
		t.Fatalf("element %s", el)
	}
	items := el.ChildrenNamed("urn:test", "item")
	if len(items) != 2 || items[1].Text != "b&c" {
		t.Fatalf("items %v", items)
	}
	var out elemTestPayload
	if err := el.Decode(&out); err != nil {
		t.Fatal(err)
	}
	in.XMLName = out.XMLName
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("decoded %+v, want %+v", out, in)
	}
	// Decode reads a parsed wire element just the same.
	wire, err := Parse([]byte(`<iq xmlns="jabber:client"><payload xmlns="urn:test" id="w"><item>x</item></payload></iq>`))
	if err != nil {
		t.Fatal(err)
	}
	var fromWire elemTestPayload
	if err := wire.Child("urn:test", "payload").Decode(&fromWire); err != nil {
		t.Fatal(err)
	}
	if fromWire.ID != "w" || !reflect.DeepEqual(fromWire.Items, []string{"x"}) {
		t.Fatalf("decoded %+v", fromWire)
	}
	var missing *Element
	if err := missing.Decode(&out); err == nil {
		t.Fatal("Decode of a nil element succeeded")
	}
	if _, err := ElementOf(make(chan int)); err == nil {
		t.Fatal("ElementOf of an unmarshallable value succeeded")
	}
}

func TestElementTokenReaderFeedsAnEncoder(t *testing.T) {
	el, _ := elemTestGolden(t, filepath.Join("testdata", "muc", "participant.xml"))
	var b bytes.Buffer
	enc := xml.NewEncoder(&b)
	r := el.TokenReader()
	n := 0
	for {
		tok, err := r.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		if err := enc.EncodeToken(tok); err != nil {
			t.Fatalf("token %d: %v", n, err)
		}
	}
	if err := enc.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Token(); err != io.EOF {
		t.Fatalf("token after the end: %v", err)
	}
	again, err := Parse(b.Bytes())
	if err != nil {
		t.Fatalf("parse %s: %v", b.Bytes(), err)
	}
	if !reflect.DeepEqual(again, el) {
		t.Fatalf("encoding/xml output of TokenReader differs\n%s\n%s", b.Bytes(), el)
	}
}

// elemTestNext reads the next start element from d.
func elemTestNext(t *testing.T, d *xml.Decoder) xml.StartElement {
	t.Helper()
	for {
		tok, err := d.Token()
		if err != nil {
			t.Fatalf("next start element: %v", err)
		}
		if s, ok := tok.(xml.StartElement); ok {
			return s
		}
	}
}

func TestReadElementLimits(t *testing.T) {
	lim := Limits{MaxDepth: 3, MaxElements: 5, MaxTextLen: 10}
	for _, tc := range []struct {
		name string
		in   string
		ok   bool
	}{
		{"at every limit", `<a>12345<b><c>67890</c></b><d/><e/></a>`, true},
		{"too deep", `<a><b><c><d/></c></b></a>`, false},
		{"too deep late", `<a><b/><b/><c><d>x<e>y</e></d></c></a>`, false},
		{"too many elements", `<a><b/><b/><b/><b/><b/></a>`, false},
		{"too many nested", `<a><b><c/><c/></b><b><c/></b></a>`, false},
		{"too much text at once", `<a>12345678901</a>`, false},
		{"too much text in total", `<a>123<b>4567</b><b>8901</b></a>`, false},
		{"whitespace counts", "<a>\n\t\t\t\t\t\t\t\t\t\t</a>", false},
		{"entities count once decoded", `<a>&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;</a>`, true},
		{"too much CDATA", `<a><![CDATA[12345678901]]></a>`, false},
		{"too deep, then a small sibling", `<a><b><c><d/></c></b><e>ok</e></a>`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The stanza is followed by another one on the same stream.
			d := xml.NewDecoder(strings.NewReader(`<stream>` + tc.in + `<next id="2"><x>after</x></next></stream>`))
			elemTestNext(t, d)
			el, err := ReadElement(d, elemTestNext(t, d), lim)
			if tc.ok {
				if err != nil {
					t.Fatalf("ReadElement: %v", err)
				}
				if el.Name.Local != "a" {
					t.Fatalf("read %s", el)
				}
			} else if !errors.Is(err, ErrTooLarge) || el != nil {
				t.Fatalf("ReadElement = %v, %v; want ErrTooLarge", el, err)
			}
			next, err := ReadElement(d, elemTestNext(t, d), lim)
			if err != nil {
				t.Fatalf("stanza after: %v", err)
			}
			if next.Name.Local != "next" || next.AttrValue("id") != "2" || next.Child("", "x").Text != "after" {
				t.Fatalf("stanza after: %s", next)
			}
		})
	}
}

func TestReadElementKeepsTheWholeTree(t *testing.T) {
	d := xml.NewDecoder(strings.NewReader(`<a x="1">t1<b xmlns="urn:b" y="2"><c>t2</c></b>t3<!-- c --><?pi x?></a>`))
	el, err := ReadElement(d, elemTestNext(t, d), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	want := &Element{
		Name: xml.Name{Local: "a"},
		Attr: []xml.Attr{{Name: xml.Name{Local: "x"}, Value: "1"}},
		Text: "t1t3",
		Children: []*Element{{
			Name:     xml.Name{Space: "urn:b", Local: "b"},
			Attr:     []xml.Attr{{Name: xml.Name{Local: "y"}, Value: "2"}},
			Children: []*Element{{Name: xml.Name{Space: "urn:b", Local: "c"}, Text: "t2"}},
		}},
	}
	if !reflect.DeepEqual(el, want) {
		t.Fatalf("got %#v", el)
	}
}

// elemTestTokens is a token stream that ends (io.EOF) where its tokens do,
// like a stream cut in the middle of a stanza.
type elemTestTokens []xml.Token

func (ts *elemTestTokens) Token() (xml.Token, error) {
	if len(*ts) == 0 {
		return nil, io.EOF
	}
	t := (*ts)[0]
	*ts = (*ts)[1:]
	return t, nil
}

func TestReadElementTruncatedStream(t *testing.T) {
	for _, lim := range []Limits{DefaultLimits, {MaxDepth: 1, MaxElements: 1, MaxTextLen: 1}} {
		// encoding/xml reports the cut as a syntax error...
		d := xml.NewDecoder(strings.NewReader(`<a><b>text</b><c>`))
		if _, err := ReadElement(d, elemTestNext(t, d), lim); err == nil || errors.Is(err, ErrTooLarge) {
			t.Fatalf("limits %+v: %v, want a syntax error", lim, err)
		}
		// ...a bare token reader ends with io.EOF, which inside an element
		// is unexpected.
		ts := elemTestTokens{
			xml.StartElement{Name: xml.Name{Local: "b"}}, xml.CharData("text"), xml.EndElement{Name: xml.Name{Local: "b"}},
			xml.StartElement{Name: xml.Name{Local: "c"}},
		}
		if _, err := ReadElement(&ts, xml.StartElement{Name: xml.Name{Local: "a"}}, lim); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("limits %+v: %v, want io.ErrUnexpectedEOF", lim, err)
		}
	}
}

// FuzzReadElement checks that no input makes ReadElement panic, and that
// whatever it reads serialises to XML that reads back as the same element,
// once the unset namespace is taken as the inherited one (the encoder's
// documented meaning: an empty xmlns inside a namespaced parent is lost).
func FuzzReadElement(f *testing.F) {
	for _, path := range elemTestGoldenFiles(f) {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`<e xmlns="urn:e" xmlns:p="urn:p" xmlns:q="urn:q" p:x="1" q:y="2" xml:lang="de">t<c/>u</e>`))
	f.Add([]byte(`<a xmlns="X"><b xmlns=""/><p:c xmlns:p="P"/><u:d/></a>`))
	f.Add([]byte(`<a b="&#xD;&#x9;&#xA;&lt;">&#xD;<![CDATA[<>]]></a>`))
	lim := Limits{MaxDepth: 8, MaxElements: 64, MaxTextLen: 256}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := xml.NewDecoder(bytes.NewReader(data))
		var start xml.StartElement
		for {
			tok, err := d.Token()
			if err != nil {
				return
			}
			if s, ok := tok.(xml.StartElement); ok {
				start = s
				break
			}
		}
		el, err := ReadElement(d, start, lim)
		if err != nil {
			if el != nil {
				t.Fatalf("element and error: %v", err)
			}
			return
		}
		out := el.String()
		again, err := Parse([]byte(out))
		if err != nil {
			t.Fatalf("serialisation does not parse: %v\n%s", err, out)
		}
		if want, got := elemTestResolve(el, ""), elemTestResolve(again, ""); !reflect.DeepEqual(want, got) {
			t.Fatalf("round trip changed the element\nin:  %q\nout: %s\nwant %#v\ngot  %#v", data, out, want, got)
		}
		if out2 := again.String(); out2 != out {
			t.Fatalf("serialisation not stable\n%s\n%s", out, out2)
		}
	})
}

// An encoder may rewrite a start token's attributes in place, as
// mellium's stanza encoder does when it drops an empty 'from': the
// element itself must not change, or writing it again (a resend after a
// resumption) writes what the encoder left, a duplicated 'to'.
func TestTokenReaderHandsOutItsOwnAttributes(t *testing.T) {
	iq, err := Parse([]byte(`<iq type='result' id='id1' from='' to='room@conference.example/alice'/>`))
	if err != nil {
		t.Fatal(err)
	}
	before := iq.String()
	tok, err := iq.TokenReader().Token()
	if err != nil {
		t.Fatal(err)
	}
	start := tok.(xml.StartElement)
	kept := start.Attr[:0]
	for _, a := range start.Attr {
		if a.Value != "" {
			kept = append(kept, a)
		}
	}
	_ = append(kept, xml.Attr{Name: xml.Name{Local: "from"}, Value: "focus@example/x"})
	if after := iq.String(); after != before {
		t.Errorf("encoding changed the element:\n%s\nnow\n%s", before, after)
	}
}
