package testclient

import (
	"fmt"

	"focal/xmpp"
)

// handleIQ is the Media's IQHandler. It runs on the stream's read loop, so
// state changes happen in the order the focus sent its requests; answers of
// our own (session-accept, transport-accept) go in then, after the result.
func (m *Media) handleIQ(req *xmpp.Element) (*xmpp.Element, func()) {
	if isDiscoInfoGet(req) {
		return discoInfoResult(req, m.features), nil
	}
	jel := req.Child(xmpp.JingleNS, "jingle")
	if jel == nil || req.AttrValue("type") != xmpp.IQSet {
		return nil, nil
	}
	var j xmpp.Jingle
	if err := jel.Decode(&j); err != nil {
		return xmpp.ErrorFor(req, xmpp.NewStanzaError(xmpp.BadRequest, "malformed jingle: "+err.Error())), nil
	}
	from := req.AttrValue("from")
	switch j.Action.Canonical() {
	case xmpp.JingleSessionInitiate:
		return m.onInitiate(req, from, &j)
	case xmpp.JingleTransportReplace:
		return m.onTransportReplace(req, from, &j)
	default:
		return m.onSessionAction(req, &j), nil
	}
}

// parseOffer reads a session-initiate or transport-replace.
func parseOffer(from string, j *xmpp.Jingle) (Offer, error) {
	srcs, err := remoteSources(j)
	if err != nil {
		return Offer{}, fmt.Errorf("%s %s: %w", j.Action, j.SID, err)
	}
	o := Offer{
		From:        from,
		SID:         j.SID,
		Initiator:   j.Initiator,
		Contents:    j.Contents,
		Transport:   j.ICETransport().Clone(),
		Sources:     srcs,
		JSONSources: j.JSONMessage != nil,
		Jingle:      j,
	}
	if j.BridgeSession != nil {
		bs := *j.BridgeSession
		o.BridgeSession = &bs
	}
	if j.StartMuted != nil {
		sm := *j.StartMuted
		o.StartMuted = &sm
	}
	return o, nil
}

// onInitiate starts a new session: a restart replaces the previous one, and
// with it what the focus said of the other endpoints' sources.
func (m *Media) onInitiate(req *xmpp.Element, from string, j *xmpp.Jingle) (*xmpp.Element, func()) {
	offer, err := parseOffer(from, j)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.actions = append(m.actions, j.Action)
	defer m.notifyLocked()
	if err != nil {
		return xmpp.ErrorFor(req, xmpp.NewStanzaError(xmpp.BadRequest, err.Error())), nil
	}
	s := &mediaSession{offer: offer}
	m.sessions = append(m.sessions, s)
	m.remote = cloneView(offer.Sources)
	m.remoteTransport = offer.Transport.Clone()
	switch {
	case m.opts.RejectInitiate:
		s.ended = true
		return xmpp.ErrorFor(req, xmpp.NewStanzaError(xmpp.NotAcceptable, "session-initiate rejected by the test endpoint")), nil
	case m.opts.Silent:
		return xmpp.ResultFor(req, nil), nil
	}
	s.acceptSent = true
	return xmpp.ResultFor(req, nil), func() { m.sendAccept(s) }
}

// onTransportReplace takes the replacing offer, as lib-jitsi-meet does: its
// transport and its sources replace the old ones, and it is answered with
// transport-accept.
func (m *Media) onTransportReplace(req *xmpp.Element, from string, j *xmpp.Jingle) (*xmpp.Element, func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.actions = append(m.actions, j.Action)
	defer m.notifyLocked()
	s := m.currentLocked()
	if resp := m.checkSessionLocked(req, s, j); resp != nil {
		return resp, nil
	}
	offer, err := parseOffer(from, j)
	if err != nil {
		return xmpp.ErrorFor(req, xmpp.NewStanzaError(xmpp.BadRequest, err.Error())), nil
	}
	m.replaces = append(m.replaces, offer)
	m.remote = cloneView(offer.Sources)
	m.remoteTransport = offer.Transport.Clone()
	if m.opts.Silent {
		return xmpp.ResultFor(req, nil), nil
	}
	return xmpp.ResultFor(req, nil), func() { m.sendTransportAccept(offer) }
}

// onSessionAction handles the requests of a running session.
func (m *Media) onSessionAction(req *xmpp.Element, j *xmpp.Jingle) *xmpp.Element {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.actions = append(m.actions, j.Action)
	defer m.notifyLocked()
	s := m.currentLocked()
	if resp := m.checkSessionLocked(req, s, j); resp != nil {
		return resp
	}
	switch j.Action.Canonical() {
	case xmpp.JingleSourceAdd, xmpp.JingleSourceRemove:
		srcs, err := remoteSources(j)
		if err != nil {
			return xmpp.ErrorFor(req, xmpp.NewStanzaError(xmpp.BadRequest, err.Error()))
		}
		if j.Action.Canonical() == xmpp.JingleSourceAdd {
			addSources(m.remote, srcs)
		} else {
			removeSources(m.remote, srcs)
		}
	case xmpp.JingleSessionTerminate:
		s.ended = true
		s.endReason = j.Reason
	case xmpp.JingleTransportInfo:
		// The focus sends one after an in-place ICE restart, with the
		// bridge's new credentials.
		if t := j.ICETransport(); t != nil {
			m.remoteTransport = t.Clone()
		}
	}
	return xmpp.ResultFor(req, nil)
}

// checkSessionLocked returns the error answering a request for a session that
// is not the current one or is over, as lib-jitsi-meet answers it
// (item-not-found, XEP-0166's unknown-session), or nil.
func (m *Media) checkSessionLocked(req *xmpp.Element, s *mediaSession, j *xmpp.Jingle) *xmpp.Element {
	switch {
	case s == nil || s.offer.SID != j.SID:
		return xmpp.ErrorFor(req, xmpp.NewStanzaError(xmpp.ItemNotFound, "unknown session "+j.SID))
	case s.ended:
		return xmpp.ErrorFor(req, xmpp.NewStanzaError(xmpp.ItemNotFound, "session "+j.SID+" has ended"))
	}
	return nil
}
