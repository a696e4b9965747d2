// Package caps reads a client's entity capabilities (XEP-0115) and keeps
// the features they stand for once a disco#info answer has proved them.
package caps

import (
	"bytes"
	"crypto/sha1" //nolint:gosec // XEP-0115's hash, as clients compute it
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"

	"focal/xmpp"
)

// NS is the namespace of the <c/> element a presence carries.
const NS = "http://jabber.org/protocol/caps"

// Namespaces of what a disco#info answer holds.
const (
	nsDiscoInfo = "http://jabber.org/protocol/disco#info"
	nsData      = "jabber:x:data"
	nsXML       = "http://www.w3.org/XML/1998/namespace"
)

// maxVerLen bounds the ver a presence may announce: a SHA-1 in base64 is
// 28 characters.
const maxVerLen = 64

// Caps is what a presence's <c/> announces: the software (Node) and the
// hash (Ver, of method Hash) of its identities and features.
type Caps struct {
	Node, Hash, Ver string
}

// Of returns the capabilities presence announces with the SHA-1 method,
// the one Jitsi Meet clients use and the only one kept; ok is false for
// none, another method, or a ver that cannot be a hash.
func Of(presence *xmpp.Element) (c Caps, ok bool) {
	el := presence.Child(NS, "c")
	if el == nil {
		return Caps{}, false
	}
	c = Caps{Node: el.AttrValue("node"), Hash: el.AttrValue("hash"), Ver: el.AttrValue("ver")}
	if c.Hash != "sha-1" || c.Ver == "" || len(c.Ver) > maxVerLen {
		return Caps{}, false
	}
	return c, true
}

// ErrInvalid is a disco#info answer XEP-0115 gives no hash for (§5.4:
// duplicate identities, features or forms).
var ErrInvalid = errors.New("disco#info answer not hashable")

// Ver is the SHA-1 verification string hash (XEP-0115 §5.1) of query, a
// disco#info answer: its identities, features and extended forms.
func Ver(query *xmpp.Element) (string, error) {
	var s bytes.Buffer
	var identities []string
	for _, id := range query.ChildrenNamed(nsDiscoInfo, "identity") {
		identities = append(identities, id.AttrValue("category")+"/"+id.AttrValue("type")+"/"+langOf(id)+"/"+id.AttrValue("name"))
	}
	if err := writeSorted(&s, identities, "identity"); err != nil {
		return "", err
	}
	var features []string
	for _, f := range query.ChildrenNamed(nsDiscoInfo, "feature") {
		features = append(features, f.AttrValue("var"))
	}
	if err := writeSorted(&s, features, "feature"); err != nil {
		return "", err
	}
	if err := writeForms(&s, query.ChildrenNamed(nsData, "x")); err != nil {
		return "", err
	}
	sum := sha1.Sum(s.Bytes()) //nolint:gosec // see the import
	return base64.StdEncoding.EncodeToString(sum[:]), nil
}

// Features lists the features of query, a disco#info answer, in its order.
func Features(query *xmpp.Element) []string {
	var out []string
	for _, f := range query.ChildrenNamed(nsDiscoInfo, "feature") {
		if v := f.AttrValue("var"); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// langOf is an identity's xml:lang.
func langOf(id *xmpp.Element) string {
	for _, a := range id.Attr {
		if a.Name.Local == "lang" && (a.Name.Space == "xml" || a.Name.Space == nsXML) {
			return a.Value
		}
	}
	return ""
}

// writeSorted appends each of items, sorted, and '<'; duplicates make the
// answer invalid.
func writeSorted(s *bytes.Buffer, items []string, what string) error {
	slices.Sort(items)
	for i, it := range items {
		if i > 0 && items[i-1] == it {
			return fmt.Errorf("%w: %s %q twice", ErrInvalid, what, it)
		}
		s.WriteString(it)
		s.WriteByte('<')
	}
	return nil
}

// writeForms appends the extended information forms (XEP-0128), each
// under its FORM_TYPE, in FORM_TYPE order; a form without one is left out.
func writeForms(s *bytes.Buffer, forms []*xmpp.Element) error {
	type form struct {
		typ    string
		fields []*xmpp.Element
	}
	var typed []form
	for _, x := range forms {
		if x.AttrValue("type") != "result" {
			continue
		}
		f := form{}
		hasType := false
		for _, field := range x.ChildrenNamed(nsData, "field") {
			if field.AttrValue("var") == "FORM_TYPE" {
				if v := field.ChildrenNamed(nsData, "value"); len(v) > 0 {
					f.typ, hasType = v[0].Text, true
				}
				continue
			}
			f.fields = append(f.fields, field)
		}
		if hasType {
			typed = append(typed, f)
		}
	}
	slices.SortFunc(typed, func(a, b form) int { return strings.Compare(a.typ, b.typ) })
	for i, f := range typed {
		if i > 0 && typed[i-1].typ == f.typ {
			return fmt.Errorf("%w: two forms of FORM_TYPE %q", ErrInvalid, f.typ)
		}
		s.WriteString(f.typ)
		s.WriteByte('<')
		slices.SortFunc(f.fields, func(a, b *xmpp.Element) int { return strings.Compare(a.AttrValue("var"), b.AttrValue("var")) })
		for _, field := range f.fields {
			s.WriteString(field.AttrValue("var"))
			s.WriteByte('<')
			var values []string
			for _, v := range field.ChildrenNamed(nsData, "value") {
				values = append(values, v.Text)
			}
			slices.Sort(values)
			for _, v := range values {
				s.WriteString(v)
				s.WriteByte('<')
			}
		}
	}
	return nil
}
