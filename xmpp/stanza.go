package xmpp

import (
	"crypto/rand"
	"encoding/hex"
)

// Stanza kinds and IQ types.
const (
	KindIQ       = "iq"
	KindMessage  = "message"
	KindPresence = "presence"

	IQGet    = "get"
	IQSet    = "set"
	IQResult = "result"
	IQError  = "error"

	PresenceUnavailable = "unavailable"
)

// Stanza namespaces of the two stream kinds Focal opens. Readers strip them,
// so that a stanza read from one stream can be written to the other.
const (
	NSClient    = "jabber:client"
	NSComponent = "jabber:component:accept"
)

// NewIQ returns an IQ stanza; payload may be nil (an empty result).
func NewIQ(typ, from, to, id string, payload *Element) *Element {
	if id == "" {
		id = NewID()
	}
	iq := NewElement("", KindIQ, "type", typ, "id", id, "from", from, "to", to)
	return iq.Append(payload)
}

// NewPresence returns a presence stanza to the given address.
func NewPresence(typ, from, to string, children ...*Element) *Element {
	p := NewElement("", KindPresence, "type", typ, "from", from, "to", to)
	return p.Append(children...)
}

// IsStanza reports whether e is an iq, message or presence.
func IsStanza(e *Element) bool {
	if e == nil {
		return false
	}
	switch e.Name.Local {
	case KindIQ, KindMessage, KindPresence:
		return e.Name.Space == "" || e.Name.Space == NSClient || e.Name.Space == NSComponent
	}
	return false
}

// IsIQRequest reports whether e is an IQ that needs a response.
func IsIQRequest(e *Element) bool {
	if e == nil || e.Name.Local != KindIQ {
		return false
	}
	t := e.AttrValue("type")
	return t == IQGet || t == IQSet
}

// ResultFor returns the result answering the IQ request req.
func ResultFor(req *Element, payload *Element) *Element {
	return NewIQ(IQResult, req.AttrValue("to"), req.AttrValue("from"), req.AttrValue("id"), payload)
}

// ErrorFor returns the error answering the IQ request req. Like RFC 6120
// §8.3.1 allows, the request's payload is not echoed.
func ErrorFor(req *Element, err StanzaError) *Element {
	return NewIQ(IQError, req.AttrValue("to"), req.AttrValue("from"), req.AttrValue("id"), err.Element())
}

// MessageErrorFor returns the error bouncing the message msg.
func MessageErrorFor(msg *Element, err StanzaError) *Element {
	el := NewElement("", KindMessage, "type", "error")
	for _, a := range [][2]string{{"from", msg.AttrValue("to")}, {"to", msg.AttrValue("from")}, {"id", msg.AttrValue("id")}} {
		if a[1] != "" {
			el.SetAttr(a[0], a[1])
		}
	}
	return el.Append(err.Element())
}

// NewID returns a random stanza id.
func NewID() string {
	var b [9]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// StripStreamNamespace removes the stream namespace ns from e and its subtree,
// making the stanza independent of the stream it was read from.
func StripStreamNamespace(e *Element, ns string) {
	if e.Name.Space == ns {
		e.Name.Space = ""
	}
	for _, c := range e.Children {
		StripStreamNamespace(c, ns)
	}
}
