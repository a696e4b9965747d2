package visitors

import "time"

// Room is what the redirect decision needs to know of a conference.
type Room struct {
	// MainParticipants: occupants of the main room, without the focus,
	// recorders (Jibri) and transcribers.
	MainParticipants int
	// SoftLimit is room metadata's participantsSoftLimit; above zero it
	// replaces Config.MaxParticipants.
	SoftLimit int
	// LobbyEnabled, VisitorsDisabled (room metadata visitorsEnabled=false)
	// and Breakout each rule visitors out.
	LobbyEnabled     bool
	VisitorsDisabled bool
	Breakout         bool
	// Used are the visitor nodes the conference has visitor rooms on.
	Used []Usage
}

// Usage is what a conference knows of one visitor node it uses.
type Usage struct {
	Node     string
	Visitors int // visitors in the node's room now
	// Redirects: when requesters were last sent to the node. Those of the
	// last JoinLatency count as visitors, whose joins are on their way.
	Redirects []time.Time
}

// Request is what the decision needs to know of a conference request.
type Request struct {
	// Supported: the client sent visitors-version; no other client is
	// ever redirected.
	Supported bool
	// AsksVisitor: the client asked to be a visitor (visitor=true).
	AsksVisitor bool
	// Listed: the room's allow-lists (room metadata participants and
	// moderators) name the client's user or group: it belongs in the
	// main room. NotAllowed: the room has a participants list and does
	// not name it: it belongs among the visitors.
	Listed     bool
	NotAllowed bool
}

// Available reports whether visitors may be offered in room at all (the
// response's visitors-supported).
func (c Config) Available(room Room) bool {
	return c.Enabled && len(c.Nodes) > 0 && !room.LobbyEnabled && !room.VisitorsDisabled && !room.Breakout
}

// Redirect reports whether req goes to a visitor node: when visitors are
// available for room and the client supports them, if it asks to be a
// visitor; otherwise never if the room's allow-lists name it, always if
// the room has a participants list without it, and else if room already
// has visitor rooms or the main room is full (MainParticipants reached
// the soft limit).
func (c Config) Redirect(room Room, req Request) bool {
	if !req.Supported || !c.Available(room) {
		return false
	}
	switch {
	case req.AsksVisitor:
		return true
	case req.Listed:
		return false
	case req.NotAllowed, len(room.Used) > 0:
		return true
	}
	limit := c.WithDefaults().MaxParticipants
	if room.SoftLimit > 0 {
		limit = room.SoftLimit
	}
	return room.MainParticipants >= limit
}
