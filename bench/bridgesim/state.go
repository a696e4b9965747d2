package bridgesim

import (
	"slices"

	"focal/media/sources"
	"focal/xmpp"
)

// State is a snapshot of a bridge: its connection, faults, stats, counters
// and everything the focus told it about conferences. Snapshots are deep
// copies; changing one changes nothing in the bridge.
type State struct {
	Nick      string
	Running   bool  // started and neither stopped nor dead since
	Connected bool  // the XMPP stream is up
	Joined    bool  // the brewery reflected the bridge's presence
	JoinError error // why the brewery refused the bridge, if it did
	Left      bool  // Leave was called and Rejoin was not
	Hung      bool
	Dead      bool // Die was called and Start was not

	Stats       Stats
	Conferences map[string]Conference // by meeting id

	Counters Counters
	// Seq grows with every change; two snapshots with the same Seq are equal.
	Seq uint64
}

// Counters count what the bridge did since it was created.
type Counters struct {
	IQs                int `json:"iqs"`            // IQ requests answered
	Dropped            int `json:"dropped"`        // IQ requests ignored while hung
	Healthchecks       int `json:"healthchecks"`   // health checks answered
	ColibriErrors      int `json:"colibri_errors"` // conference-modify requests answered with an error
	ConferencesCreated int `json:"conferences_created"`
	ConferencesExpired int `json:"conferences_expired"` // explicitly or because the last endpoint left
	EndpointsCreated   int `json:"endpoints_created"`
	EndpointsExpired   int `json:"endpoints_expired"`
}

// Conference is one colibri2 conference on the bridge.
type Conference struct {
	MeetingID string
	Name      string // the room JID the focus gave on create
	Endpoints map[string]Endpoint
	Relays    map[string]Relay
	Connects  map[string]xmpp.Colibri2Connect // by id (type when the id is empty)
	// Feedback are the bridge's own sources, announced on create.
	Feedback *xmpp.Colibri2Sources
}

// Endpoint is one participant's endpoint, as the focus last described it.
type Endpoint struct {
	ID           string
	StatsID      string
	MUCRole      string
	Media        []xmpp.Colibri2Media
	Capabilities []string
	// Transport is the participant's ICE/DTLS transport the focus relayed
	// (from session-accept or transport-info); nil until it sends one.
	Transport      *xmpp.JingleICETransport
	ICEControlling bool
	SCTP           bool // a data channel was requested on create
	Sources        *xmpp.Colibri2Sources
	ForceMute      *xmpp.Colibri2ForceMute
	InitialLastN   *int
	// Local is the transport the bridge allocated and answered with; an ICE
	// restart replaces it with a higher ICEGeneration.
	Local   *xmpp.JingleICETransport
	Updates int // conference-modify requests that changed the endpoint after create
}

// SourceSet returns the endpoint's sources as a source set.
func (e Endpoint) SourceSet() (sources.Set, error) {
	return sources.FromColibri2(e.Sources, false)
}

// Relay is a link to another bridge of the conference.
type Relay struct {
	ID        string
	MeshID    string
	Transport *xmpp.JingleICETransport // the remote bridge's, relayed by the focus
	Local     *xmpp.JingleICETransport
	SCTPRole  string // role answered on create, "" without SCTP
	// Endpoints are the remote bridge's endpoints (ID, StatsID and Sources).
	Endpoints map[string]Endpoint
	Sources   *xmpp.Colibri2Sources
}

func (c *Conference) clone() Conference {
	out := Conference{
		MeetingID: c.MeetingID,
		Name:      c.Name,
		Endpoints: make(map[string]Endpoint, len(c.Endpoints)),
		Relays:    make(map[string]Relay, len(c.Relays)),
		Connects:  make(map[string]xmpp.Colibri2Connect, len(c.Connects)),
		Feedback:  cloneSources(c.Feedback),
	}
	for id, e := range c.Endpoints {
		out.Endpoints[id] = e.clone()
	}
	for id, r := range c.Relays {
		out.Relays[id] = r.clone()
	}
	for id, cn := range c.Connects {
		out.Connects[id] = cloneConnect(cn)
	}
	return out
}

func (e Endpoint) clone() Endpoint {
	c := e
	c.Media = nil
	for _, m := range e.Media {
		c.Media = append(c.Media, cloneMedia(m))
	}
	c.Capabilities = slices.Clone(e.Capabilities)
	c.Transport = e.Transport.Clone()
	c.Local = e.Local.Clone()
	c.Sources = cloneSources(e.Sources)
	if e.ForceMute != nil {
		fm := *e.ForceMute
		c.ForceMute = &fm
	}
	if e.InitialLastN != nil {
		n := *e.InitialLastN
		c.InitialLastN = &n
	}
	return c
}

func (r Relay) clone() Relay {
	c := r
	c.Transport = r.Transport.Clone()
	c.Local = r.Local.Clone()
	c.Sources = cloneSources(r.Sources)
	c.Endpoints = make(map[string]Endpoint, len(r.Endpoints))
	for id, e := range r.Endpoints {
		c.Endpoints[id] = e.clone()
	}
	return c
}

func cloneRaw(xs []xmpp.JingleRawElement) []xmpp.JingleRawElement {
	if xs == nil {
		return nil
	}
	out := make([]xmpp.JingleRawElement, len(xs))
	for i, x := range xs {
		out[i] = x.Clone()
	}
	return out
}

func cloneSource(s xmpp.JingleSource) xmpp.JingleSource {
	c := s
	if s.SSRCInfo != nil {
		info := *s.SSRCInfo
		c.SSRCInfo = &info
	}
	c.Parameters = slices.Clone(s.Parameters)
	c.Extra = cloneRaw(s.Extra)
	return c
}

func cloneSources(s *xmpp.Colibri2Sources) *xmpp.Colibri2Sources {
	if s == nil {
		return nil
	}
	out := &xmpp.Colibri2Sources{}
	for _, ms := range s.MediaSources {
		c := ms
		c.Sources = nil
		for _, src := range ms.Sources {
			c.Sources = append(c.Sources, cloneSource(src))
		}
		c.SourceGroups = nil
		for _, g := range ms.SourceGroups {
			cg := g
			cg.Sources = nil
			for _, src := range g.Sources {
				cg.Sources = append(cg.Sources, cloneSource(src))
			}
			c.SourceGroups = append(c.SourceGroups, cg)
		}
		c.Extra = cloneRaw(ms.Extra)
		out.MediaSources = append(out.MediaSources, c)
	}
	return out
}

func cloneMedia(m xmpp.Colibri2Media) xmpp.Colibri2Media {
	c := m
	c.PayloadTypes = nil
	for _, pt := range m.PayloadTypes {
		cp := pt
		cp.Parameters = slices.Clone(pt.Parameters)
		cp.RTCPFeedback = slices.Clone(pt.RTCPFeedback)
		cp.Extra = cloneRaw(pt.Extra)
		c.PayloadTypes = append(c.PayloadTypes, cp)
	}
	c.HeaderExtensions = nil
	for _, h := range m.HeaderExtensions {
		ch := h
		ch.Parameters = slices.Clone(h.Parameters)
		c.HeaderExtensions = append(c.HeaderExtensions, ch)
	}
	if m.ExtmapAllowMixed != nil {
		c.ExtmapAllowMixed = &xmpp.JingleEmpty{}
	}
	c.Extra = cloneRaw(m.Extra)
	return c
}

func cloneConnect(cn xmpp.Colibri2Connect) xmpp.Colibri2Connect {
	c := cn
	c.HTTPHeaders = slices.Clone(cn.HTTPHeaders)
	if cn.Ping != nil {
		p := *cn.Ping
		c.Ping = &p
	}
	c.Exports = slices.Clone(cn.Exports)
	c.Requests = slices.Clone(cn.Requests)
	c.Extra = cloneRaw(cn.Extra)
	return c
}
