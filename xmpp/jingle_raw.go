package xmpp

import (
	"encoding/xml"
	"strings"
)

// JingleRawElement is any XML element kept as a tree: the catch-all for
// children that the typed structs of this package do not interpret.
// Namespace declarations are not kept as attributes; the element's own
// namespace is in XMLName and is written back on output.
type JingleRawElement struct {
	XMLName  xml.Name
	Attrs    []xml.Attr         `xml:",any,attr"`
	Text     string             `xml:",chardata"`
	Children []JingleRawElement `xml:",any"`
}

// UnmarshalXML decodes the subtree, dropping xmlns declarations and
// whitespace-only text.
func (x *JingleRawElement) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	type plain JingleRawElement
	var p plain
	if err := d.DecodeElement(&p, &start); err != nil {
		return err
	}
	attrs := p.Attrs[:0]
	for _, a := range p.Attrs {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
			continue
		}
		attrs = append(attrs, a)
	}
	p.Attrs = attrs
	if len(p.Attrs) == 0 {
		p.Attrs = nil
	}
	if strings.TrimSpace(p.Text) == "" {
		p.Text = ""
	}
	*x = JingleRawElement(p)
	return nil
}

// Attr returns the value of the un-prefixed attribute name, or "".
func (x *JingleRawElement) Attr(name string) string {
	for _, a := range x.Attrs {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// Clone returns a deep copy of x.
func (x JingleRawElement) Clone() JingleRawElement {
	c := x
	c.Attrs = append([]xml.Attr(nil), x.Attrs...)
	c.Children = nil
	for _, ch := range x.Children {
		c.Children = append(c.Children, ch.Clone())
	}
	return c
}
