package xmpp

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Limits bound what ReadElement accepts, so that a hostile peer cannot make
// the node allocate without bound. Prosody caps stanzas at 256 KiB by default;
// these caps are of the same order.
type Limits struct {
	MaxDepth    int // nesting depth of elements, the stanza itself being 1
	MaxElements int // elements in one stanza
	MaxTextLen  int // bytes of character data in one stanza
}

// DefaultLimits fit every stanza a Jitsi deployment sends (a session-accept
// with simulcast sources has about 150 elements).
var DefaultLimits = Limits{MaxDepth: 32, MaxElements: 20000, MaxTextLen: 1 << 20}

// ErrTooLarge is returned by ReadElement when a stanza exceeds its Limits.
var ErrTooLarge = errors.New("xmpp: stanza exceeds size limits")

// Element is one parsed XML element with its subtree. Stanzas, their payloads
// and everything inside are Elements; nothing of what a peer sends is dropped,
// so a presence extension nobody here knows survives a round trip.
type Element struct {
	Name     xml.Name
	Attr     []xml.Attr
	Children []*Element
	Text     string // character data directly inside this element
}

// NewElement returns an element in namespace space (empty for the stream's
// default namespace) with attributes given as name, value pairs.
func NewElement(space, local string, attrs ...string) *Element {
	e := &Element{Name: xml.Name{Space: space, Local: local}}
	for i := 0; i+1 < len(attrs); i += 2 {
		e.SetAttr(attrs[i], attrs[i+1])
	}
	return e
}

// AttrValue returns the value of the un-prefixed attribute name, or "".
func (e *Element) AttrValue(name string) string {
	v, _ := e.LookupAttr(name)
	return v
}

// LookupAttr returns the value of the un-prefixed attribute name and whether
// it is present.
func (e *Element) LookupAttr(name string) (string, bool) {
	if e == nil {
		return "", false
	}
	for _, a := range e.Attr {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

// SetAttr sets (or, with an empty value, removes) an un-prefixed attribute.
func (e *Element) SetAttr(name, value string) *Element {
	for i, a := range e.Attr {
		if a.Name.Space == "" && a.Name.Local == name {
			if value == "" {
				e.Attr = append(e.Attr[:i], e.Attr[i+1:]...)
			} else {
				e.Attr[i].Value = value
			}
			return e
		}
	}
	if value != "" {
		e.Attr = append(e.Attr, xml.Attr{Name: xml.Name{Local: name}, Value: value})
	}
	return e
}

// Child returns the first child with the given namespace and local name.
// An empty space matches any namespace.
func (e *Element) Child(space, local string) *Element {
	if e == nil {
		return nil
	}
	for _, c := range e.Children {
		if c.Name.Local == local && (space == "" || c.Name.Space == space) {
			return c
		}
	}
	return nil
}

// ChildrenNamed returns every child with the given namespace and local name.
func (e *Element) ChildrenNamed(space, local string) []*Element {
	var out []*Element
	for _, c := range e.Children {
		if c.Name.Local == local && (space == "" || c.Name.Space == space) {
			out = append(out, c)
		}
	}
	return out
}

// FirstChild returns the first child element, or nil.
func (e *Element) FirstChild() *Element {
	if e == nil || len(e.Children) == 0 {
		return nil
	}
	return e.Children[0]
}

// Append adds children and returns e, so trees can be built in one expression.
func (e *Element) Append(children ...*Element) *Element {
	for _, c := range children {
		if c != nil {
			e.Children = append(e.Children, c)
		}
	}
	return e
}

// WithText sets the character data of e and returns e.
func (e *Element) WithText(text string) *Element {
	e.Text = text
	return e
}

// Clone returns a deep copy of e.
func (e *Element) Clone() *Element {
	if e == nil {
		return nil
	}
	c := &Element{Name: e.Name, Text: e.Text}
	c.Attr = append([]xml.Attr(nil), e.Attr...)
	for _, ch := range e.Children {
		c.Children = append(c.Children, ch.Clone())
	}
	return c
}

// ReadElement reads the element that start opened, up to its end, from d.
// Namespace declarations are not kept as attributes: an element's namespace is
// in its Name, and the encoder writes the declarations it needs.
func ReadElement(d xml.TokenReader, start xml.StartElement, lim Limits) (*Element, error) {
	r := elementReader{d: d, lim: lim}
	e, err := r.read(start, 1)
	if err != nil {
		return nil, err
	}
	if r.tooLarge {
		return nil, ErrTooLarge
	}
	return e, nil
}

// elementReader builds the tree. Past a limit it keeps reading up to the end
// of the stanza without building anything, so the stream stays usable and the
// caller can answer the stanza with an error.
type elementReader struct {
	d        xml.TokenReader
	lim      Limits
	elements int
	text     int
	tooLarge bool
}

func (r *elementReader) read(start xml.StartElement, depth int) (*Element, error) {
	r.elements++
	if depth > r.lim.MaxDepth || r.elements > r.lim.MaxElements {
		r.tooLarge = true
	}
	e := &Element{Name: start.Name}
	if !r.tooLarge {
		for _, a := range start.Attr {
			if a.Name.Local == "xmlns" && a.Name.Space == "" || a.Name.Space == "xmlns" {
				continue
			}
			e.Attr = append(e.Attr, a)
		}
	}
	var text strings.Builder
	for {
		tok, err := r.d.Token()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			c, err := r.read(t, depth+1)
			if err != nil {
				return nil, err
			}
			if !r.tooLarge {
				e.Children = append(e.Children, c)
			}
		case xml.CharData:
			r.text += len(t)
			if r.text > r.lim.MaxTextLen {
				r.tooLarge = true
			}
			if !r.tooLarge {
				text.Write(t)
			}
		case xml.EndElement:
			e.Text = text.String()
			return e, nil
		}
	}
}

// Parse reads one element from an XML document (tests, golden files, and
// typed payloads marshalled with encoding/xml).
func Parse(data []byte) (*Element, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, fmt.Errorf("parse element: %w", err)
		}
		if start, ok := tok.(xml.StartElement); ok {
			return ReadElement(d, start, DefaultLimits)
		}
	}
}

// ElementOf marshals v with encoding/xml and returns it as an Element.
func ElementOf(v any) (*Element, error) {
	data, err := xml.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("marshal %T: %w", v, err)
	}
	return Parse(data)
}

// Decode unmarshals e into v with encoding/xml.
func (e *Element) Decode(v any) error {
	if e == nil {
		return errors.New("xmpp: decode of a missing element")
	}
	return xml.NewTokenDecoder(e.TokenReader()).Decode(v)
}

// TokenReader streams e as XML tokens, for an encoder or a decoder.
func (e *Element) TokenReader() xml.TokenReader {
	return &elementTokens{stack: []frame{{el: e}}}
}

type frame struct {
	el      *Element
	started bool
	next    int // index of the next child to emit
	text    bool
}

type elementTokens struct {
	stack []frame
}

func (t *elementTokens) Token() (xml.Token, error) {
	for len(t.stack) > 0 {
		top := &t.stack[len(t.stack)-1]
		if !top.started {
			top.started = true
			// A copy: encoders may rewrite a token's attributes in place
			// (mellium's stanza encoder filters empty ids and froms into
			// the same array), which would change the element itself and
			// whatever writes it next (a resend after a resumption).
			return xml.StartElement{Name: top.el.Name, Attr: slices.Clone(top.el.Attr)}, nil
		}
		if !top.text {
			top.text = true
			if top.el.Text != "" {
				return xml.CharData(top.el.Text), nil
			}
		}
		if top.next < len(top.el.Children) {
			child := top.el.Children[top.next]
			top.next++
			t.stack = append(t.stack, frame{el: child})
			continue
		}
		end := xml.EndElement{Name: top.el.Name}
		t.stack = t.stack[:len(t.stack)-1]
		return end, nil
	}
	return nil, io.EOF
}

// String serialises e as XML. Every element carries its own namespace
// declaration where its namespace is not inherited.
func (e *Element) String() string {
	var b bytes.Buffer
	if err := e.Encode(&b); err != nil {
		return "<!-- " + err.Error() + " -->"
	}
	return b.String()
}

// Encode writes e as XML.
func (e *Element) Encode(w io.Writer) error {
	return writeElement(w, e, "")
}

func writeElement(w io.Writer, e *Element, parentNS string) error {
	var b bytes.Buffer
	b.WriteByte('<')
	b.WriteString(e.Name.Local)
	if e.Name.Space != parentNS && e.Name.Space != "" {
		b.WriteString(` xmlns="`)
		escapeAttr(&b, e.Name.Space)
		b.WriteByte('"')
	}
	var attrNS []string // namespaces of attributes declared on e; prefix aN is attrNS[N]
	for _, a := range e.Attr {
		b.WriteByte(' ')
		switch a.Name.Space {
		case "":
		case "http://www.w3.org/XML/1998/namespace":
			b.WriteString("xml:")
		default:
			// Attributes in other namespaces are rare in XMPP; each namespace
			// gets a prefix of its own, declared once, so that the output stays
			// well-formed and every attribute keeps its namespace.
			i := slices.Index(attrNS, a.Name.Space)
			if i < 0 {
				i = len(attrNS)
				attrNS = append(attrNS, a.Name.Space)
				fmt.Fprintf(&b, `xmlns:a%d="`, i)
				escapeAttr(&b, a.Name.Space)
				b.WriteString(`" `)
			}
			fmt.Fprintf(&b, "a%d:", i)
		}
		b.WriteString(a.Name.Local)
		b.WriteString(`="`)
		escapeAttr(&b, a.Value)
		b.WriteByte('"')
	}
	if e.Text == "" && len(e.Children) == 0 {
		b.WriteString("/>")
		_, err := w.Write(b.Bytes())
		return err
	}
	b.WriteByte('>')
	if e.Text != "" {
		if err := xml.EscapeText(&b, []byte(e.Text)); err != nil {
			return err
		}
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return err
	}
	ns := e.Name.Space
	if ns == "" {
		ns = parentNS
	}
	for _, c := range e.Children {
		if err := writeElement(w, c, ns); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, "</"+e.Name.Local+">")
	return err
}

func escapeAttr(b *bytes.Buffer, s string) {
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\n':
			b.WriteString("&#xA;")
		case '\r':
			b.WriteString("&#xD;")
		case '\t':
			b.WriteString("&#x9;")
		default:
			b.WriteRune(r)
		}
	}
}
