package xmpp

import "strings"

// Service discovery of a MUC room (XEP-0030, XEP-0045 §6.4): the focus asks
// a room it joined for its disco#info, whose muc#roominfo form carries the
// meeting id that Jitsi's mod_muc_meeting_id gives every room.

// Namespaces of disco#info and data forms (XEP-0004).
const (
	NSDiscoInfo = "http://jabber.org/protocol/disco#info"
	NSDataForm  = "jabber:x:data"
)

// Room info form fields.
const (
	FormTypeRoomInfo       = "http://jabber.org/protocol/muc#roominfo"
	FieldRoomInfoMeetingID = "muc#roominfo_meetingId"
	// Jitsi's mod_muc_breakout_rooms marks its rooms and names their main
	// room.
	FieldRoomInfoIsBreakout = "muc#roominfo_isbreakout"
	FieldRoomInfoMainRoom   = "muc#roominfo_breakout_main_room"
)

// MaxMeetingIDLen bounds a meeting id taken from a room: it goes into
// every Colibri2 request.
const MaxMeetingIDLen = 256

// RoomInfoQuery is the disco#info request to room.
func RoomInfoQuery(room string) *Element { return DiscoInfoQuery(room) }

// RoomInfo is what the focus reads from a room's disco#info.
type RoomInfo struct {
	// MeetingID is the room's muc#roominfo_meetingId ("" when the room has
	// none, or an unusable one: blank, too long, or with control
	// characters).
	MeetingID string
	// MainRoom is the main room of a breakout room ("" for a main room).
	MainRoom string
}

// ParseRoomInfo reads the answer to RoomInfoQuery (the IQ result, or its
// <query/>). Fields are taken from the jabber:x:data forms whose FORM_TYPE
// is muc#roominfo, or that have none.
func ParseRoomInfo(el *Element) RoomInfo {
	var info RoomInfo
	if el == nil {
		return info
	}
	q := el
	if !(el.Name.Space == NSDiscoInfo && el.Name.Local == "query") {
		q = el.Child(NSDiscoInfo, "query")
	}
	if q == nil {
		return info
	}
	for _, form := range q.ChildrenNamed(NSDataForm, "x") {
		if t, ok := formField(form, "FORM_TYPE"); ok && t != FormTypeRoomInfo {
			continue
		}
		if id, ok := formField(form, FieldRoomInfoMeetingID); ok && validMeetingID(id) && info.MeetingID == "" {
			info.MeetingID = id
		}
		if b, _ := formField(form, FieldRoomInfoIsBreakout); b == "true" || b == "1" {
			if main, ok := formField(form, FieldRoomInfoMainRoom); ok && validMeetingID(main) {
				info.MainRoom = main
			}
		}
	}
	return info
}

// formField returns the first value of the form's field var.
func formField(form *Element, name string) (string, bool) {
	for _, f := range form.ChildrenNamed(NSDataForm, "field") {
		if f.AttrValue("var") != name {
			continue
		}
		v := f.Child(NSDataForm, "value")
		if v == nil {
			return "", true
		}
		return strings.TrimSpace(v.Text), true
	}
	return "", false
}

func validMeetingID(id string) bool {
	if id == "" || len(id) > MaxMeetingIDLen {
		return false
	}
	for _, r := range id {
		if r < 0x20 || r == 0x7f || r == '\uFFFD' {
			return false
		}
	}
	return true
}

// Components lists what a server's disco#info says about Jitsi's
// components (identities of category "component"): their address by type,
// e.g. "av_moderation" → "avmoderation.meet.jitsi", "breakout_rooms" →
// the breakout rooms' MUC service.
func Components(el *Element) map[string]string {
	out := map[string]string{}
	if el == nil {
		return out
	}
	q := el
	if !(el.Name.Space == NSDiscoInfo && el.Name.Local == "query") {
		q = el.Child(NSDiscoInfo, "query")
	}
	if q == nil {
		return out
	}
	for _, id := range q.ChildrenNamed(NSDiscoInfo, "identity") {
		if id.AttrValue("category") == "component" && id.AttrValue("type") != "" && id.AttrValue("name") != "" {
			out[id.AttrValue("type")] = id.AttrValue("name")
		}
	}
	return out
}

// DiscoInfoQuery is a disco#info request to jid.
func DiscoInfoQuery(jid string) *Element {
	return NewIQ(IQGet, "", jid, "", NewElement(NSDiscoInfo, "query"))
}
