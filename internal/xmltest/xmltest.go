// Package xmltest compares XML documents the way the wire sees them, for
// golden-file tests and the seed corpora of fuzz tests.
package xmltest

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// node is an XML element reduced to what matters on the wire: resolved
// names, attributes sorted, whitespace around text dropped, and children
// sorted by name (stably, so that the order among siblings of one name, such
// as payload types, still counts).
type node struct {
	name     xml.Name
	attrs    []xml.Attr
	text     string
	children []*node
}

func parse(data []byte) (*node, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	var stack []*node
	var root *node
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
			n := &node{name: t.Name}
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

func (n *node) write(b *strings.Builder, depth int) {
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

func (n *node) String() string {
	var b strings.Builder
	n.write(&b, 0)
	return b.String()
}

// AssertSame fails t unless want and got are the same XML once
// canonicalised.
func AssertSame(t testing.TB, want, got []byte) {
	t.Helper()
	w, err := parse(want)
	if err != nil {
		t.Fatalf("parse want: %v", err)
	}
	g, err := parse(got)
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

// Golden returns the contents of the golden file at path, failing t if it
// cannot be read.
func Golden(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// AddFuzzSeeds adds every *.xml file of dir to f's seed corpus, each twice:
// the whole stanza, and its payload alone (the first child of the root),
// which is what the fuzz targets decode.
func AddFuzzSeeds(f *testing.F, dir string) {
	f.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.xml"))
	if len(files) == 0 {
		f.Fatalf("no golden files in %s to seed the fuzzer with", dir)
	}
	for _, path := range files {
		data := Golden(f, path)
		f.Add(data)
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
					if out, err := payload(d, se); err == nil {
						f.Add(out)
					}
					break
				}
			}
		}
	}
}

// rawElement is any element kept as a tree, to re-encode a payload. Like
// xmpp.JingleRawElement, it drops namespace declarations (the element's
// namespace is written from its name) and whitespace-only text.
type rawElement struct {
	XMLName  xml.Name
	Attrs    []xml.Attr   `xml:",any,attr"`
	Text     string       `xml:",chardata"`
	Children []rawElement `xml:",any"`
}

// UnmarshalXML decodes the subtree without its xmlns attributes and
// whitespace-only text.
func (x *rawElement) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	type plain rawElement
	var p plain
	if err := d.DecodeElement(&p, &start); err != nil {
		return err
	}
	var attrs []xml.Attr
	for _, a := range p.Attrs {
		if a.Name.Space != "xmlns" && !(a.Name.Space == "" && a.Name.Local == "xmlns") {
			attrs = append(attrs, a)
		}
	}
	p.Attrs = attrs
	if strings.TrimSpace(p.Text) == "" {
		p.Text = ""
	}
	*x = rawElement(p)
	return nil
}

func payload(d *xml.Decoder, se xml.StartElement) ([]byte, error) {
	var raw rawElement
	if err := d.DecodeElement(&raw, &se); err != nil {
		return nil, err
	}
	return xml.Marshal(raw)
}
