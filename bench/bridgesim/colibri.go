package bridgesim

import (
	"crypto/rand"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"net/url"
	"strings"

	"focal/media/sources"
	"focal/xmpp"
)

// Feedback source names and msids, as a bridge announces its own sources.
const (
	feedbackAudioID = "jvb-a0"
	feedbackVideoID = "jvb-v0"
	feedbackMSIDFmt = "mixedmslabel mixedlabel%s0"
)

// colibriErr is a failed conference-modify: the stanza condition, the
// colibri2 reason and, for unknown_endpoint, the endpoint concerned.
type colibriErr struct {
	condition string
	text      string
	reason    xmpp.Colibri2ErrorReason // "" writes a reason-less colibri2 tag
	endpoint  string
}

// response is the IQ error answering req.
func (e *colibriErr) response(req *xmpp.Element) *xmpp.Element {
	se := xmpp.Colibri2StanzaError{
		Type:      xmpp.NewStanzaError(e.condition, "").Type,
		Condition: e.condition,
		Text:      e.text,
		Colibri2:  &xmpp.Colibri2Error{Reason: e.reason},
	}
	if e.endpoint != "" {
		se.Endpoint = &xmpp.Colibri2Endpoint{ID: e.endpoint}
	}
	el, err := xmpp.ElementOf(se)
	if err != nil {
		return xmpp.ErrorFor(req, xmpp.NewStanzaError(xmpp.InternalServerError, err.Error()))
	}
	return xmpp.NewIQ(xmpp.IQError, req.AttrValue("to"), req.AttrValue("from"), req.AttrValue("id"), el)
}

func badRequest(format string, args ...any) *colibriErr {
	return &colibriErr{condition: xmpp.BadRequest, text: fmt.Sprintf(format, args...)}
}

// conferenceModifyLocked answers a conference-modify. Requests are checked
// before anything changes, so a request that fails changes nothing.
func (b *Bridge) conferenceModifyLocked(req, payload *xmpp.Element) *xmpp.Element {
	var mod xmpp.Colibri2ConferenceModify
	if err := payload.Decode(&mod); err != nil {
		return badRequest("malformed conference-modify: %v", err).response(req)
	}
	out, cerr := b.applyLocked(&mod)
	if cerr != nil {
		return cerr.response(req)
	}
	el, err := xmpp.ElementOf(out)
	if err != nil {
		return xmpp.ErrorFor(req, xmpp.NewStanzaError(xmpp.InternalServerError, err.Error()))
	}
	el.SetAttr("meeting-id", mod.MeetingID)
	return xmpp.ResultFor(req, el)
}

func (b *Bridge) applyLocked(mod *xmpp.Colibri2ConferenceModify) (*xmpp.Colibri2ConferenceModified, *colibriErr) {
	if mod.MeetingID == "" {
		return nil, badRequest("conference-modify without meeting-id")
	}
	conf, exists := b.confs[mod.MeetingID]
	switch {
	case mod.Create && exists:
		return nil, &colibriErr{condition: xmpp.Conflict, reason: xmpp.Colibri2ConferenceAlreadyExists,
			text: "Conference already exists for meeting-id " + mod.MeetingID}
	case mod.Create && (b.st.Stats.GracefulShutdown || b.st.Stats.ShuttingDown):
		return nil, &colibriErr{condition: xmpp.ServiceUnavailable, reason: xmpp.Colibri2GracefulShutdown,
			text: "In graceful shutdown"}
	case !mod.Create && !exists:
		return nil, &colibriErr{condition: xmpp.ItemNotFound, reason: xmpp.Colibri2ConferenceNotFound,
			text: "Conference not found for meeting-id " + mod.MeetingID}
	}
	out := &xmpp.Colibri2ConferenceModified{}
	if mod.Expire {
		if exists {
			delete(b.confs, mod.MeetingID)
			b.st.Counters.ConferencesExpired++
		}
		return out, nil
	}
	var current *Conference
	if exists {
		current = conf
	}
	if err := validate(current, mod); err != nil {
		return nil, err
	}
	if !exists {
		conf = &Conference{
			MeetingID: mod.MeetingID,
			Name:      mod.Name,
			Endpoints: make(map[string]Endpoint),
			Relays:    make(map[string]Relay),
			Connects:  make(map[string]xmpp.Colibri2Connect),
			Feedback:  feedbackSources(),
		}
		b.confs[mod.MeetingID] = conf
		b.st.Counters.ConferencesCreated++
		out.Sources = cloneSources(conf.Feedback)
	}

	expired := false
	for i := range mod.Endpoints {
		ep := &mod.Endpoints[i]
		if resp, gone := b.applyEndpoint(conf, ep); resp != nil {
			out.Endpoints = append(out.Endpoints, *resp)
		} else if gone {
			expired = true
		}
	}
	for i := range mod.Relays {
		if resp := b.applyRelay(conf, &mod.Relays[i]); resp != nil {
			out.Relays = append(out.Relays, *resp)
		}
	}
	if mod.Connects != nil {
		for _, cn := range mod.Connects.Connects {
			key := cn.ID
			if key == "" {
				key = cn.Type
			}
			if cn.Expire {
				delete(conf.Connects, key)
			} else {
				conf.Connects[key] = cn
			}
		}
	}
	// As a bridge does, a conference goes away with its last endpoint.
	if expired && len(conf.Endpoints) == 0 {
		delete(b.confs, mod.MeetingID)
		b.st.Counters.ConferencesExpired++
	}
	return out, nil
}

// validate checks the endpoints and relays of mod against conf (nil for a
// conference being created), in request order.
func validate(conf *Conference, mod *xmpp.Colibri2ConferenceModify) *colibriErr {
	endpoints, relays := map[string]bool{}, map[string]bool{}
	if conf != nil {
		for id := range conf.Endpoints {
			endpoints[id] = true
		}
		for id := range conf.Relays {
			relays[id] = true
		}
	}
	for _, ep := range mod.Endpoints {
		switch {
		case ep.ID == "":
			return badRequest("endpoint without id")
		case ep.Expire:
			delete(endpoints, ep.ID) // expiring an unknown endpoint is a no-op
		case ep.Create && endpoints[ep.ID]:
			return &colibriErr{condition: xmpp.Conflict, text: "Endpoint with ID " + ep.ID + " already exists"}
		case ep.Create:
			endpoints[ep.ID] = true
		case !endpoints[ep.ID]:
			return &colibriErr{condition: xmpp.ItemNotFound, reason: xmpp.Colibri2UnknownEndpoint,
				text: "Unknown endpoint " + ep.ID, endpoint: ep.ID}
		}
	}
	for _, r := range mod.Relays {
		switch {
		case r.ID == "":
			return badRequest("relay without id")
		case r.Expire:
			delete(relays, r.ID)
		case r.Create && relays[r.ID]:
			return &colibriErr{condition: xmpp.Conflict, text: "Relay with ID " + r.ID + " already exists"}
		case r.Create:
			relays[r.ID] = true
		case !relays[r.ID]:
			return &colibriErr{condition: xmpp.ItemNotFound, text: "Unknown relay " + r.ID}
		}
	}
	return nil
}

// applyEndpoint applies one validated endpoint change and returns what the
// answer says about it (nil for an expired one) and whether it expired.
func (b *Bridge) applyEndpoint(conf *Conference, ep *xmpp.Colibri2Endpoint) (*xmpp.Colibri2Endpoint, bool) {
	if ep.Expire {
		if _, ok := conf.Endpoints[ep.ID]; !ok {
			return nil, false
		}
		delete(conf.Endpoints, ep.ID)
		b.st.Counters.EndpointsExpired++
		return nil, true
	}
	resp := &xmpp.Colibri2Endpoint{ID: ep.ID}
	if ep.Create {
		e := Endpoint{ID: ep.ID, Local: b.newTransport(conf.MeetingID, ep.ID, 0, false)}
		updateEndpoint(&e, ep)
		resp.Transport = &xmpp.Colibri2Transport{ICE: e.Local.Clone()}
		if ep.Transport != nil {
			e.ICEControlling = ep.Transport.ICEControlling
			if ep.Transport.SCTP != nil {
				e.SCTP = true
				resp.Transport.SCTP = &xmpp.Colibri2SCTP{Port: SCTPPort, Role: xmpp.Colibri2SCTPRoleServer}
			}
		}
		conf.Endpoints[ep.ID] = e
		b.st.Counters.EndpointsCreated++
		return resp, false
	}
	e := conf.Endpoints[ep.ID]
	updateEndpoint(&e, ep)
	e.Updates++
	if ep.Transport != nil && ep.Transport.ICERestart {
		gen := 1
		if e.Local != nil {
			gen = e.Local.ICEGeneration + 1
		}
		e.Local = b.newTransport(conf.MeetingID, ep.ID, gen, false)
		resp.Transport = &xmpp.Colibri2Transport{ICE: e.Local.Clone()}
	}
	conf.Endpoints[ep.ID] = e
	return resp, false
}

// updateEndpoint stores what the focus said about an endpoint; what it left
// out stays as it was. Sources replace the previous ones as a whole.
func updateEndpoint(e *Endpoint, ep *xmpp.Colibri2Endpoint) {
	if ep.StatsID != "" {
		e.StatsID = ep.StatsID
	}
	if ep.MUCRole != "" {
		e.MUCRole = ep.MUCRole
	}
	if len(ep.Media) > 0 {
		e.Media = ep.Media
	}
	if len(ep.Capabilities) > 0 {
		e.Capabilities = e.Capabilities[:0:0]
		for _, c := range ep.Capabilities {
			e.Capabilities = append(e.Capabilities, c.Name)
		}
	}
	if ep.Transport != nil && ep.Transport.ICE != nil {
		e.Transport = ep.Transport.ICE
	}
	if ep.Sources != nil {
		e.Sources = ep.Sources
	}
	if ep.ForceMute != nil {
		e.ForceMute = ep.ForceMute
	}
	if ep.InitialLastN != nil {
		n := ep.InitialLastN.Value
		e.InitialLastN = &n
	}
}

// applyRelay applies one validated relay change and returns what the answer
// says about it (nil for an expired one).
func (b *Bridge) applyRelay(conf *Conference, r *xmpp.Colibri2Relay) *xmpp.Colibri2Relay {
	if r.Expire {
		delete(conf.Relays, r.ID)
		return nil
	}
	resp := &xmpp.Colibri2Relay{ID: r.ID}
	rel, ok := conf.Relays[r.ID]
	if r.Create || !ok {
		sctp := r.Transport != nil && r.Transport.SCTP != nil
		rel = Relay{ID: r.ID, MeshID: r.MeshID, Endpoints: make(map[string]Endpoint),
			Local: b.newTransport(conf.MeetingID, r.ID, 0, !sctp)}
		resp.Transport = &xmpp.Colibri2Transport{ICE: rel.Local.Clone()}
		if sctp {
			rel.SCTPRole = r.Transport.SCTP.Role
			if rel.SCTPRole == "" {
				rel.SCTPRole = xmpp.Colibri2SCTPRoleServer
			}
			resp.Transport.SCTP = &xmpp.Colibri2SCTP{Port: SCTPPort, Role: rel.SCTPRole}
		}
	}
	if r.Transport != nil && r.Transport.ICE != nil {
		rel.Transport = r.Transport.ICE
	}
	if r.Sources != nil {
		rel.Sources = r.Sources
	}
	for i := range r.Endpoints {
		ep := &r.Endpoints[i]
		if ep.Expire {
			delete(rel.Endpoints, ep.ID)
			continue
		}
		e := rel.Endpoints[ep.ID]
		e.ID = ep.ID
		updateEndpoint(&e, ep)
		rel.Endpoints[ep.ID] = e
	}
	conf.Relays[r.ID] = rel
	return resp
}

// newTransport allocates ICE credentials with the bridge's fingerprint and
// one host candidate. Endpoint transports carry a web-socket when
// WebSocketBase is set; relay transports without SCTP always do.
func (b *Bridge) newTransport(meetingID, id string, generation int, relayWS bool) *xmpp.JingleICETransport {
	pwd := strings.ToLower(rand.Text()) // 26 characters, above ICE's 22
	t := &xmpp.JingleICETransport{
		Ufrag:         strings.ToLower(rand.Text())[:14],
		Pwd:           pwd,
		ICEGeneration: generation,
		RTCPMux:       &xmpp.JingleEmpty{},
		Fingerprints: []xmpp.JingleFingerprint{{
			Hash: "sha-256", Setup: xmpp.JingleSetupActPass, Value: b.fingerprint,
		}},
		Candidates: []xmpp.JingleCandidate{{
			Component: 1, Foundation: "1", Generation: generation, ID: strings.ToLower(rand.Text()),
			IP: b.cfg.CandidateIP, Network: 0, Port: b.cfg.CandidatePort, Priority: 2130706431,
			Protocol: "udp", Type: "host",
		}},
	}
	base := b.cfg.WebSocketBase
	if relayWS && base == "" {
		base = "wss://" + b.cfg.Nick + ".bridgesim.invalid/colibri-relay-ws"
	}
	if base != "" {
		u := fmt.Sprintf("%s/%s/%s/%s?pwd=%s", strings.TrimSuffix(base, "/"),
			url.PathEscape(b.cfg.Nick), url.PathEscape(meetingID), url.PathEscape(id), pwd)
		t.WebSockets = []xmpp.JingleWebSocket{{URL: u}}
	}
	return t
}

// feedbackSources are a new conference's bridge sources: one audio and one
// video source with random SSRCs and the msids clients expect.
func feedbackSources() *xmpp.Colibri2Sources {
	source := func(media sources.Media, id string) xmpp.Colibri2MediaSource {
		return xmpp.Colibri2MediaSource{
			Type: string(media),
			ID:   id,
			Sources: []xmpp.JingleSource{{
				SSRC: randomSSRC(),
				Name: id,
				Parameters: []xmpp.JingleParameter{{
					Name: xmpp.JingleParameterMSID, Value: fmt.Sprintf(feedbackMSIDFmt, media),
				}},
			}},
		}
	}
	return &xmpp.Colibri2Sources{MediaSources: []xmpp.Colibri2MediaSource{
		source(sources.Audio, feedbackAudioID),
		source(sources.Video, feedbackVideoID),
	}}
}

// randomSSRC returns an SSRC in 1..2^32-1.
func randomSSRC() int64 {
	return int64(mrand.Uint32N(math.MaxUint32)) + 1
}
