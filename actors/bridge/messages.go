package bridge

import (
	"time"

	"focal/media/sources"
	"focal/xmpp"
	"focal/xmpp/session"
)

// Stanza is a presence (or IQ) from an occupant of the brewery room.
type Stanza struct{ El *xmpp.Element }

// StreamUp and StreamDown tell the brewery the client stream changed: it
// (re-)joins the brewery room when the stream comes up, and forgets every
// bridge when it goes down (their presences come again with the re-join).
type (
	StreamUp   struct{}
	StreamDown struct{}
)

// Select asks the brewery for the bridge of one new participant of a
// conference. The answer is a Selected.
type Select struct {
	// ID is echoed in the answer, for the asker to match it.
	ID     uint64
	Room   string
	Region string // the participant's region, if known
	// Bridges are the conference's bridges, the first one first.
	Bridges []ConferenceBridge
}

// ConferenceBridge is one bridge a conference uses.
type ConferenceBridge struct {
	JID          string
	Participants int
	Added        []time.Time // when the conference added endpoints to it
}

// Selected answers Select. Err wraps selection.ErrNoBridge when no bridge
// can take the participant.
type Selected struct {
	ID     uint64 // the Select's
	Bridge string // brewery occupant JID
	// Address is the bridge's own JID, as its brewery presence shows it
	// (empty when the room hides real JIDs): Colibri2 sent there needs no
	// seat in the brewery (ColibriConfig.Address).
	Address string
	Region  string // the bridge's region
	Err     error
}

// Failed reports a bridge that failed a conference (a Colibri2 timeout or
// error): it is not selected for a while.
type Failed struct{ Bridge string }

// Down is published when a bridge can no longer serve its conferences (it
// left the brewery, failed its health check or is shutting down): they move
// their participants elsewhere.
type Down struct {
	Bridge string
	Reason string
}

// Up is published when a new bridge joins the brewery: conferences whose
// participants could not get a bridge invite them now.
type Up struct{ Bridge string }

// ListBridges asks the brewery for a []Snapshot reply.
type ListBridges struct{}

// Snapshot is one bridge as the brewery sees it, for debugging views.
type Snapshot struct {
	JID             string  `json:"jid"`
	Region          string  `json:"region,omitempty"`
	Version         string  `json:"version,omitempty"`
	Stress          float64 `json:"stress"`
	CorrectedStress float64 `json:"corrected_stress"`
	Operational     bool    `json:"operational"`
	Draining        bool    `json:"draining"`
	Graceful        bool    `json:"graceful_shutdown"`
	ShuttingDown    bool    `json:"shutting_down"`
}

// Messages between the brewery and its bridge actors.
type (
	statsUpdate struct {
		jid   string
		stats map[string]string
	}
	healthFailed struct {
		jid    string
		reason string
	}
	// serverChecked is the server's answer to the ping that decides
	// whether bridge jid is blamed for a request it did not answer.
	serverChecked struct {
		jid        string
		downReason string // set for a failed health check
		err        error
	}
	// serverSlow: a ping to the server sent with a health check was not
	// answered in time.
	serverSlow   struct{}
	healthTick   struct{ retry bool }
	healthResult struct {
		seq   int
		retry bool
		err   error
	}
	// serverPingResult is the answer to the ping sent alongside health
	// check seq.
	serverPingResult struct {
		seq int
		err error
	}
)

// Messages between a conference and its colibri sessions.
type (
	// Allocate creates an endpoint for a participant on the bridge. The
	// answer, sent to the conference, is an Allocated or a ColibriFailed.
	Allocate struct {
		Endpoint string // the participant's nick
		StatsID  string
		Media    []xmpp.Colibri2Media // the codecs of the participant's offer
		SCTP     bool
		Sources  sources.Set
		Visitor  bool
		// ForceMute, when set, has the bridge drop the endpoint's audio
		// and/or video from the start (AV moderation).
		ForceMute *xmpp.Colibri2ForceMute
	}

	// Allocated is the endpoint's transport on the bridge and, for the first
	// endpoint of the conference there, the bridge's feedback sources.
	Allocated struct {
		Bridge    string
		Session   string
		Endpoint  string
		Transport *xmpp.JingleICETransport
		SCTPPort  int
		Feedback  sources.Set
	}

	// UpdateEndpoint passes on what the participant signalled: its ICE
	// transport, its sources (the whole set), its initial last-n.
	UpdateEndpoint struct {
		Endpoint     string
		Transport    *xmpp.JingleICETransport
		Sources      *sources.Set
		InitialLastN *int
		// ForceMute changes whether the bridge drops the endpoint's audio
		// and video.
		ForceMute *xmpp.Colibri2ForceMute
	}

	// RestartICE asks the bridge for new ICE credentials of an endpoint
	// (an in-place ICE restart). The answer is an ICERestarted (or, if the
	// bridge refuses the request, a ColibriFailed).
	RestartICE struct{ Endpoint string }

	// ICERestarted is the endpoint's new transport after RestartICE; a nil
	// Transport means the bridge declined (or did not answer), and the
	// participant needs a new session instead.
	ICERestarted struct {
		Bridge    string
		Session   string
		Endpoint  string
		Transport *xmpp.JingleICETransport
		SCTPPort  int
	}

	// ExpireEndpoint removes a participant's endpoint from the bridge.
	ExpireEndpoint struct{ Endpoint string }

	// UseWire moves a colibri session's requests to another session: the
	// conference's shard session ended, and its rooms went on a new one.
	UseWire struct{ Wire session.Wire }

	// ColibriFailed reports a failed request of a colibri session.
	ColibriFailed struct {
		Bridge   string
		Session  string
		Endpoint string
		Err      error
		Scope    Scope
		// MarkFailed says the bridge itself looks broken: it should not be
		// selected for a while (tell the brewery with Failed).
		MarkFailed bool
	}
)

// Scope is what a failed colibri request lost.
type Scope int

const (
	// ScopeRequest: only this request failed (it was invalid); retrying
	// would fail the same way.
	ScopeRequest Scope = iota
	// ScopeEndpoint: the bridge lost this endpoint; re-invite its
	// participant.
	ScopeEndpoint
	// ScopeSession: the conference on this bridge is lost; every participant
	// on it moves.
	ScopeSession
)

func (s Scope) String() string {
	switch s {
	case ScopeEndpoint:
		return "endpoint"
	case ScopeSession:
		return "session"
	}
	return "request"
}
