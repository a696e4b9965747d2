package bridge

import (
	"time"

	"focal/xmpp"
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
	Bridge string // brewery occupant JID
	Err    error
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
	healthTick   struct{ retry bool }
	healthResult struct {
		retry bool
		err   error
	}
)
