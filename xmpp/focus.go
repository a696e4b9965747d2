package xmpp

import (
	"fmt"
	"strconv"

	"mellium.im/xmpp/jid"
)

// NSFocus is the namespace of Jitsi's conference request protocol.
const NSFocus = "http://jitsi.org/protocol/focus"

// Caps on a ConferenceIQ. Jitsi clients send a handful of short properties;
// the caps leave room for growth while bounding what one request can cost.
const (
	MaxConferenceProperties = 64
	MaxPropertyNameLen      = 256
	MaxPropertyValueLen     = 1024
	MaxAttrLen              = 1024
	MaxTokenLen             = 16 << 10 // JWTs with group claims exceed 1 KiB
)

// Property is a name/value pair of a conference request or response.
type Property struct {
	Name  string
	Value string
}

// ConferenceIQ is the <conference xmlns='http://jitsi.org/protocol/focus'/>
// payload a client sends to ask for a conference and the focus answers with.
type ConferenceIQ struct {
	Room       string // bare JID of the MUC room
	Ready      bool
	FocusJID   string
	SessionID  string
	MachineUID string
	Identity   string
	VNode      string
	Token      string
	Properties []Property
}

// Property returns the value of the named property and whether it was set.
func (c ConferenceIQ) Property(name string) (string, bool) {
	for _, p := range c.Properties {
		if p.Name == name {
			return p.Value, true
		}
	}
	return "", false
}

// ParseConferenceIQ reads and validates a <conference/> element. Every
// problem is a bad-request StanzaError whose text names it.
func ParseConferenceIQ(el *Element) (ConferenceIQ, error) {
	var c ConferenceIQ
	if el == nil || el.Name.Space != NSFocus || el.Name.Local != "conference" {
		return c, NewStanzaError(BadRequest, "expected <conference xmlns='"+NSFocus+"'/>")
	}
	for _, a := range el.Attr {
		if a.Name.Space != "" {
			continue
		}
		limit := MaxAttrLen
		if a.Name.Local == "token" {
			limit = MaxTokenLen
		}
		if len(a.Value) > limit {
			return c, NewStanzaError(BadRequest, fmt.Sprintf("attribute '%s' is longer than %d bytes", a.Name.Local, limit))
		}
		switch a.Name.Local {
		case "room":
			c.Room = a.Value
		case "ready":
			b, err := strconv.ParseBool(a.Value)
			if err != nil {
				return c, NewStanzaError(BadRequest, "attribute 'ready' is not a boolean")
			}
			c.Ready = b
		case "focusjid":
			c.FocusJID = a.Value
		case "session-id":
			c.SessionID = a.Value
		case "machine-uid":
			c.MachineUID = a.Value
		case "identity":
			c.Identity = a.Value
		case "vnode":
			c.VNode = a.Value
		case "token":
			c.Token = a.Value
		}
	}
	for _, ch := range el.Children {
		if ch.Name.Space != NSFocus || ch.Name.Local != "property" {
			return c, NewStanzaError(BadRequest, fmt.Sprintf("unexpected element <%s xmlns='%s'> in conference request", ch.Name.Local, ch.Name.Space))
		}
		if len(c.Properties) == MaxConferenceProperties {
			return c, NewStanzaError(BadRequest, fmt.Sprintf("more than %d properties", MaxConferenceProperties))
		}
		name, ok := ch.LookupAttr("name")
		if !ok || name == "" {
			return c, NewStanzaError(BadRequest, "property without a name")
		}
		value := ch.AttrValue("value")
		if len(name) > MaxPropertyNameLen {
			return c, NewStanzaError(BadRequest, fmt.Sprintf("property name longer than %d bytes", MaxPropertyNameLen))
		}
		if len(value) > MaxPropertyValueLen {
			return c, NewStanzaError(BadRequest, fmt.Sprintf("property '%s' value longer than %d bytes", name, MaxPropertyValueLen))
		}
		c.Properties = append(c.Properties, Property{Name: name, Value: value})
	}
	if c.Room == "" {
		return c, NewStanzaError(BadRequest, "No 'room' specified.")
	}
	if _, err := ParseRoomJID(c.Room); err != nil {
		return c, err
	}
	return c, nil
}

// ParseRoomJID validates a MUC room address: a bare JID with a localpart.
func ParseRoomJID(room string) (jid.JID, error) {
	j, err := jid.Parse(room)
	if err != nil {
		return jid.JID{}, NewStanzaError(BadRequest, fmt.Sprintf("invalid room JID '%s': %v", room, err))
	}
	if j.Localpart() == "" || j.Resourcepart() != "" {
		return jid.JID{}, NewStanzaError(BadRequest, fmt.Sprintf("invalid room JID '%s': want room@service", room))
	}
	return j, nil
}

// Element returns the <conference/> element for c.
func (c ConferenceIQ) Element() *Element {
	el := NewElement(NSFocus, "conference",
		"room", c.Room,
		"focusjid", c.FocusJID,
		"session-id", c.SessionID,
		"machine-uid", c.MachineUID,
		"identity", c.Identity,
		"vnode", c.VNode,
		"token", c.Token,
	)
	if c.Ready || c.FocusJID != "" {
		// Only answers carry 'ready'; a request leaves it out, as clients do.
		el.SetAttr("ready", strconv.FormatBool(c.Ready))
	}
	for _, p := range c.Properties {
		el.Append(NewElement(NSFocus, "property", "name", p.Name, "value", p.Value))
	}
	return el
}
