package xmpp

import (
	"crypto/sha256"
	"strings"
)

// What the focus publishes about a conference in its own MUC presence, as
// Jicofo does: its version, the conference's properties, and whether a
// bridge could be had.

// NSJitMeet is the namespace of Jitsi Meet's presence extensions
// (<versions/>, <json-message/>).
const NSJitMeet = "http://jitsi.org/jitmeet"

// Conference properties the focus publishes (<conference-properties/>).
const (
	// PropSupportTerminateRestart says the focus starts a new session when
	// a participant ends its own with <bridge-session restart='true'/>.
	PropSupportTerminateRestart = "support-terminate-restart"
	// PropBridgeCount is how many bridges the conference uses.
	PropBridgeCount = "bridge-count"
	// PropVisitorCount is how many visitors the conference has on its
	// visitor nodes; published once it uses one.
	PropVisitorCount = "visitor-count"
)

// ConferenceProperty is one <property key value/> of <conference-properties/>.
type ConferenceProperty struct {
	Key   string
	Value string
}

// FocusPresence is what the focus's presence in a conference room carries
// besides the MUC elements.
type FocusPresence struct {
	// Version is the focus's version, published as
	// <versions><component name='focus'>Version</component></versions>
	// ("" leaves the element out).
	Version string
	// Properties, in order, in <conference-properties/> (none leaves the
	// element out).
	Properties []ConferenceProperty
	// BridgeNotAvailable adds <bridgeNotAvailable/>: no bridge could be
	// selected for the conference.
	BridgeNotAvailable bool
}

// Property returns the value of the property key.
func (p FocusPresence) Property(key string) (string, bool) {
	for _, prop := range p.Properties {
		if prop.Key == key {
			return prop.Value, true
		}
	}
	return "", false
}

// Elements are the presence's extension elements, in a fixed order.
func (p FocusPresence) Elements() []*Element {
	var out []*Element
	if len(p.Properties) > 0 {
		props := NewElement(NSFocus, "conference-properties")
		for _, prop := range p.Properties {
			props.Append(NewElement(NSFocus, "property", "key", prop.Key, "value", prop.Value))
		}
		out = append(out, props)
	}
	if p.Version != "" {
		out = append(out, NewElement(NSJitMeet, "versions").Append(
			NewElement(NSJitMeet, "component", "name", "focus").WithText(p.Version)))
	}
	if p.BridgeNotAvailable {
		out = append(out, NewElement(NSFocus, "bridgeNotAvailable"))
	}
	return out
}

// Key is a string that two FocusPresences share exactly when their
// elements are the same: what tells whether an update is due. It is the
// SHA-256 of the elements' XML, not the XML itself: every conference keeps
// the key of what it last sent, and the XML was about a kilobyte of each
// conference's memory (BENCHMARKS.md, "Memory").
func (p FocusPresence) Key() string {
	h := sha256.New()
	for _, el := range p.Elements() {
		_ = el.Encode(h) // a hash's Write never fails
	}
	return string(h.Sum(nil))
}

// FocusPresenceUpdate is a presence of nick, already in room, carrying p:
// without the MUC <x/> of a join, which a room takes as a new join (or, in
// some servers, a request for history).
func FocusPresenceUpdate(room, nick string, p FocusPresence) *Element {
	return NewPresence("", "", room+"/"+nick).Append(p.Elements()...)
}

// ParseFocusPresence reads what a presence says of the focus's extensions
// (the first <versions/> and <conference-properties/>; an element without
// a namespace is taken as in the presence's own). It never fails: what is
// not there is left zero.
func ParseFocusPresence(el *Element) FocusPresence {
	var p FocusPresence
	if el == nil {
		return p
	}
	if v := el.Child(NSJitMeet, "versions"); v != nil {
		for _, c := range v.Children {
			if c.Name.Local == "component" && (c.Name.Space == NSJitMeet || c.Name.Space == "") && c.AttrValue("name") == "focus" {
				p.Version = strings.TrimSpace(c.Text)
				break
			}
		}
	}
	if props := el.Child(NSFocus, "conference-properties"); props != nil {
		for _, c := range props.Children {
			if c.Name.Local != "property" || (c.Name.Space != NSFocus && c.Name.Space != "") {
				continue
			}
			p.Properties = append(p.Properties, ConferenceProperty{Key: c.AttrValue("key"), Value: c.AttrValue("value")})
		}
	}
	p.BridgeNotAvailable = el.Child(NSFocus, "bridgeNotAvailable") != nil
	return p
}
