package xmpp

import (
	"strconv"

	"mellium.im/xmpp/jid"
)

// MUC namespaces (XEP-0045).
const (
	NSMUC      = "http://jabber.org/protocol/muc"
	NSMUCUser  = "http://jabber.org/protocol/muc#user"
	NSMUCAdmin = "http://jabber.org/protocol/muc#admin"
	NSMUCOwner = "http://jabber.org/protocol/muc#owner"
)

// Affiliations and roles (XEP-0045 §5).
const (
	AffiliationOwner  = "owner"
	AffiliationAdmin  = "admin"
	AffiliationMember = "member"
	AffiliationNone   = "none"

	RoleModerator   = "moderator"
	RoleParticipant = "participant"
	RoleVisitor     = "visitor"
	RoleNone        = "none"
)

// MUC status codes Focal acts on.
const (
	StatusSelfPresence = 110
	StatusRoomCreated  = 201
	StatusKicked       = 307
	StatusShutdown     = 332
	StatusKickedError  = 333
)

// JoinPresence returns the presence that joins room as nick. The history
// request asks for nothing: the focus has no use for old messages. Extra
// children (e.g. the focus's versions) travel with the join.
func JoinPresence(room, nick string, extra ...*Element) *Element {
	x := NewElement(NSMUC, "x").Append(NewElement("", "history", "maxstanzas", "0"))
	return NewPresence("", "", room+"/"+nick, x).Append(extra...)
}

// LeavePresence returns the presence that leaves room.
func LeavePresence(room, nick string) *Element {
	return NewPresence(PresenceUnavailable, "", room+"/"+nick)
}

// OccupantPresence is what a MUC presence says about one occupant.
type OccupantPresence struct {
	Room        string // bare room JID
	Nick        string
	Unavailable bool
	Error       *StanzaError // set for a presence of type error (e.g. a failed join)
	Affiliation string
	Role        string
	RealJID     string // occupant's real JID, when the room shows it
	Self        bool   // status 110: this presence is about us
	Codes       []int
	Stanza      *Element // the whole presence, for extensions
}

// HasCode reports whether the presence carries the MUC status code.
func (p OccupantPresence) HasCode(code int) bool {
	for _, c := range p.Codes {
		if c == code {
			return true
		}
	}
	return false
}

// ParseOccupantPresence reads a presence from a room occupant. It returns
// false when the presence does not come from an occupant JID.
func ParseOccupantPresence(el *Element) (OccupantPresence, bool) {
	if el == nil || el.Name.Local != KindPresence {
		return OccupantPresence{}, false
	}
	from, err := jid.Parse(el.AttrValue("from"))
	if err != nil || from.Localpart() == "" || from.Resourcepart() == "" {
		return OccupantPresence{}, false
	}
	p := OccupantPresence{
		Room:   from.Bare().String(),
		Nick:   from.Resourcepart(),
		Stanza: el,
	}
	switch el.AttrValue("type") {
	case PresenceUnavailable:
		p.Unavailable = true
	case IQError:
		se, _ := ErrorOf(el)
		p.Error = &se
	}
	if x := el.Child(NSMUCUser, "x"); x != nil {
		if item := x.Child(NSMUCUser, "item"); item != nil {
			p.Affiliation = item.AttrValue("affiliation")
			p.Role = item.AttrValue("role")
			p.RealJID = item.AttrValue("jid")
		}
		for _, s := range x.ChildrenNamed(NSMUCUser, "status") {
			if code, err := strconv.Atoi(s.AttrValue("code")); err == nil {
				p.Codes = append(p.Codes, code)
			}
		}
		p.Self = p.HasCode(StatusSelfPresence)
	}
	return p, true
}

// SetAffiliationIQ returns the muc#admin request that gives the user with
// bare JID user the affiliation in room.
func SetAffiliationIQ(room, user, affiliation string) *Element {
	q := NewElement(NSMUCAdmin, "query").Append(
		NewElement(NSMUCAdmin, "item", "affiliation", affiliation, "jid", user))
	return NewIQ(IQSet, "", room, "", q)
}
