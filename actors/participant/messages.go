package participant

import (
	"focal/media/sources"
	"focal/proto"
	"focal/xmpp"
	"focal/xmpp/session"
)

// Messages from the conference to a participant.
type (
	// InitiateAnswered is the client's answer to a session-initiate (Err:
	// refused, or no answer in time).
	InitiateAnswered struct {
		SID string
		Err error
	}

	// Invite starts a Jingle session (or replaces the current one) on the
	// bridge endpoint the conference allocated for the participant.
	Invite struct {
		// SID names the session; the conference chooses it, so that it
		// knows which reported session the others' source changes go to
		// ("": the participant chooses one).
		SID           string
		Initiator     string // the focus's full JID
		Bridge        string // brewery occupant JID of the bridge
		BridgeSession string // colibri session id, sent as <bridge-session id/>
		Region        string // the bridge's region
		Transport     *xmpp.JingleICETransport
		SCTPPort      int
		// Sources are everybody else's sources by owner (endpoint id, or
		// "jvb" for the bridge's feedback sources).
		Sources         map[string]sources.Set
		StartAudioMuted bool
		StartVideoMuted bool
	}

	// TransportInfo is the bridge's new transport for the participant's
	// endpoint after an in-place ICE restart: it goes to the client in a
	// transport-info of the current session.
	TransportInfo struct {
		Transport *xmpp.JingleICETransport
		SCTPPort  int
	}

	// Terminate ends the participant's Jingle session.
	Terminate struct {
		Reason string // Jingle reason condition, e.g. xmpp.JingleReasonSuccess
		Text   string
	}
)

// Messages from a participant to its conference (its parent).
type (
	// Accepted is a session-accept (or transport-accept) of the current
	// session. The conference validates the sources, answers IQ and
	// updates the bridge.
	Accepted struct {
		Nick         string
		Transport    *xmpp.JingleICETransport
		Sources      sources.Set
		InitialLastN *int
		IQ           *xmpp.Element
	}

	// TransportChanged carries a transport-info of the current session to
	// the bridge (already answered).
	TransportChanged struct {
		Nick      string
		Transport *xmpp.JingleICETransport
	}

	// SourcesChanged is a source-add or source-remove of the current
	// session; the conference validates it and answers IQ.
	SourcesChanged struct {
		Nick    string
		Remove  bool
		Sources sources.Set
		IQ      *xmpp.Element
	}

	// RestartRequested asks for a new session on a freshly allocated
	// endpoint (ICE failed, or a session-terminate with restart), already
	// rate-limited by the participant.
	RestartRequested struct {
		Nick   string
		Reason string
	}

	// ICERestartRequested asks for an in-place ICE restart of the
	// participant's endpoint in BridgeSession (already answered and
	// rate-limited by the participant): the conference asks the bridge for
	// new ICE credentials and answers with TransportInfo.
	ICERestartRequested struct {
		Nick          string
		BridgeSession string
	}

	// Report is all that follows from one message the participant
	// handled: its events for the conference (Accepted, SourcesChanged,
	// RestartRequested, ...) in order, its state (the conference keeps it
	// for its replica and learns from the features that the participant
	// can be invited; not changed by either side once sent), and the
	// stanzas for the client, which the conference sends once its
	// replica has the state they follow from.
	Report struct {
		Nick   string
		Events []any
		State  *focalpb.JingleState
		Out    []Outgoing
	}

	// Outgoing is a stanza for the client. An IQ request's answer goes to
	// Answer, on the node that sent it; Kind and SID say what it is for, so
	// that another node that sends it after a takeover routes its answer.
	Outgoing struct {
		El     *xmpp.Element
		Kind   focalpb.OutgoingKind
		SID    string
		Answer session.ResponseFunc
	}
	// SessionEnded says the participant ended its session for good (a
	// session-terminate without restart) or never accepted the invite: its
	// endpoint and sources go.
	SessionEnded struct {
		Nick   string
		Reason string
	}
)
