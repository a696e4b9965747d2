package conference

// Snapshot is a copy of a conference's state for debugging views.
type Snapshot struct {
	Room string `json:"room"`
	// Unanswered: the conference did not answer in time; nothing else is
	// known of it.
	Unanswered bool   `json:"unanswered,omitempty"`
	MeetingID  string `json:"meeting_id"`
	// Node is the node driving the conference ("" outside a cluster);
	// Standby says this node only keeps a copy for it.
	Node    string `json:"owner,omitempty"`
	Standby bool   `json:"standby,omitempty"`
	// Focus is the full JID of the focus session in the room.
	Focus        string           `json:"focus,omitempty"`
	Joined       bool             `json:"joined"`
	Options      Options          `json:"options"`
	Participants []MemberSnapshot `json:"participants"`
	Bridges      []BridgeSnapshot `json:"bridges"`
}

// BridgeSnapshot is one of the conference's bridge sessions.
type BridgeSnapshot struct {
	JID       string `json:"jid"`
	Session   string `json:"session"`
	Endpoints int    `json:"endpoints"`
}

// MemberSnapshot is one participant in a Snapshot, in join order.
type MemberSnapshot struct {
	Nick        string `json:"nick"`
	JID         string `json:"jid,omitempty"`
	Role        string `json:"role"`
	Affiliation string `json:"affiliation"`
	Bridge      string `json:"bridge,omitempty"`
	Sources     string `json:"sources,omitempty"`
	JingleSID   string `json:"jingle_sid,omitempty"`
	JingleState string `json:"jingle_state,omitempty"`
}

func (c *conference) snapshot() Snapshot {
	s := Snapshot{Room: c.room, MeetingID: c.meetingID, Node: c.cfg.Node, Focus: c.focusAddr, Joined: c.joined, Options: c.options,
		Participants: []MemberSnapshot{}, Bridges: []BridgeSnapshot{}}
	if c.standby {
		s.Node, s.Standby, s.Focus = c.standbyFor, true, ""
	}
	for _, m := range c.membersInOrder() {
		ms := MemberSnapshot{Nick: m.nick, JID: m.realJID, Role: m.role, Affiliation: m.affiliation, Bridge: m.bridge,
			JingleSID: m.session.SID, JingleState: m.session.State}
		if src := c.sources.SourcesOf(m.nick); !src.Empty() {
			ms.Sources = src.String()
		}
		s.Participants = append(s.Participants, ms)
	}
	for _, jid := range c.bridgeOrder {
		s.Bridges = append(s.Bridges, BridgeSnapshot{JID: jid, Session: c.bridges[jid].id, Endpoints: c.endpointsOn(jid)})
	}
	return s
}
