package conference

import "focal/proto"

// Snapshot is a conference as the debug view shows it: read off the
// replicated state (the live one, or the owner's latest on a standby),
// plus where this node stands.
type Snapshot struct {
	Room string `json:"room"`
	// Unanswered: the conference did not answer in time; nothing else is
	// known of it.
	Unanswered bool   `json:"unanswered,omitempty"`
	MeetingID  string `json:"meeting_id,omitempty"`
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

// Options are the conference-wide options of the first request.
type Options struct {
	RTCStatsEnabled bool `json:"rtcstatsEnabled"`
	// StartAudioMuted and StartVideoMuted mute every participant beyond
	// that many; -1 when not set.
	StartAudioMuted int `json:"startAudioMuted"`
	StartVideoMuted int `json:"startVideoMuted"`
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
	if c.standby {
		s := Snapshot{Room: c.room, Node: c.standbyFor, Standby: true}
		if c.latest != nil {
			s = snapshotOf(c.latest)
			s.Node, s.Standby = c.standbyFor, true
		}
		return s
	}
	s := snapshotOf(c.stateView())
	s.Node, s.Focus, s.Joined = c.cfg.Node, c.focusAddr, c.joined
	return s
}

// snapshotOf reads a replicated state for the debug view.
func snapshotOf(st *focalpb.ConferenceState) Snapshot {
	o := st.Options
	if o == nil {
		o = defaultOptions()
	}
	s := Snapshot{
		Room: st.Room, MeetingID: st.MeetingId,
		Options:      Options{RTCStatsEnabled: o.RtcstatsEnabled, StartAudioMuted: int(o.StartAudioMuted), StartVideoMuted: int(o.StartVideoMuted)},
		Participants: []MemberSnapshot{}, Bridges: []BridgeSnapshot{},
	}
	sources := map[string]string{}
	for _, es := range st.Sources {
		sources[es.Endpoint] = importSources(es.Sources, es.Groups).String()
	}
	endpoints := map[string]int{}
	for _, m := range st.Members {
		s.Participants = append(s.Participants, MemberSnapshot{
			Nick: m.Nick, JID: m.RealJid, Role: m.Role, Affiliation: m.Affiliation, Bridge: m.Bridge,
			Sources: sources[m.Nick], JingleSID: m.GetJingle().GetSid(), JingleState: sessionStateName(m.GetJingle().GetState()),
		})
		if m.Bridge != "" {
			endpoints[m.Bridge]++
		}
	}
	for _, b := range st.Bridges {
		s.Bridges = append(s.Bridges, BridgeSnapshot{JID: b.Jid, Session: b.Id, Endpoints: endpoints[b.Jid]})
	}
	return s
}

// sessionStateName is how the debug view names a Jingle session state.
func sessionStateName(s focalpb.SessionState) string {
	switch s {
	case focalpb.SessionState_SESSION_PENDING:
		return "pending"
	case focalpb.SessionState_SESSION_ACTIVE:
		return "active"
	case focalpb.SessionState_SESSION_ENDED:
		return "ended"
	}
	return ""
}
