package participant

import (
	"errors"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"

	"focal/media/offer"
	"focal/media/sources"
	"focal/proto"
	"focal/xmpp"
	"focal/xmpp/session"
)

// Where the Jingle session with the occupant stands.
const (
	sessionPending = focalpb.SessionState_SESSION_PENDING
	sessionActive  = focalpb.SessionState_SESSION_ACTIVE
	sessionEnded   = focalpb.SessionState_SESSION_ENDED
)

// invite sends a session-initiate for the endpoint in inv. An existing
// session is terminated first ("moving", as Jicofo's RestartJingle re-invite
// does), so the client sets up a fresh peer connection.
func (p *participantActor) invite(_ actor.Context, inv *Invite) {
	if p.st.State == sessionPending || p.st.State == sessionActive {
		p.terminate(xmpp.JingleReasonSuccess, "moving")
	}
	forClient := offer.For(p.st.Features)
	if forClient == nil {
		// The conference invites only participants whose features it
		// was told of.
		p.log.Error("invited before the client's features are known")
		return
	}
	opts := *forClient
	opts.StartAudioMuted, opts.StartVideoMuted = inv.StartAudioMuted, inv.StartVideoMuted
	sid := inv.SID
	if sid == "" {
		sid = xmpp.NewID()
	}
	j := offer.New(sid, inv.Initiator, opts)
	offer.UseBridgeTransport(j, inv.Transport, inv.SCTPPort)
	j.BridgeSession = &xmpp.JingleBridgeSession{ID: inv.BridgeSession, Region: inv.Region}
	p.encoding().Put(j, inv.Sources)
	p.st.Sid, p.st.State, p.st.Bridge, p.st.BridgeSession = sid, sessionPending, inv.Bridge, inv.BridgeSession

	el, err := xmpp.ElementOf(j)
	if err != nil {
		p.log.Error("build session-initiate", "err", err)
		return
	}
	p.log.Info("inviting", "sid", sid, "bridge", inv.Bridge)
	deliver := p.deliver
	p.request(xmpp.NewIQ(xmpp.IQSet, "", p.occupantJID(), "", el), focalpb.OutgoingKind_OUTGOING_SESSION_INITIATE, sid,
		func(_ *xmpp.Element, err error) { deliver(&InitiateAnswered{SID: sid, Err: err}) })
}

// encoding is how this client reads the others' sources.
func (p *participantActor) encoding() SourceEncoding {
	return SourceEncoding{Room: p.cfg.Room, JSON: p.jsonSources(), StripSimulcast: p.cfg.StripSimulcast}
}

func (p *participantActor) onInitiateAnswered(r *InitiateAnswered) {
	if r.SID != p.st.Sid || p.st.State != sessionPending {
		return
	}
	switch {
	case r.Err == nil, errors.Is(r.Err, session.ErrTimeout):
		// A slow client may still accept: Jicofo counts a timeout as sent.
		return
	}
	p.log.Warn("session-initiate refused", "sid", r.SID, "err", r.Err)
	p.terminate(xmpp.JingleReasonGeneralError, "jingle session failed")
	p.tell(&SessionEnded{Nick: p.cfg.Nick, Reason: "session-initiate failed: " + r.Err.Error()})
}

// terminate sends session-terminate for the current session, if any.
func (p *participantActor) terminate(reason, text string) {
	if p.st.State != sessionPending && p.st.State != sessionActive {
		return
	}
	j := &xmpp.Jingle{Action: xmpp.JingleSessionTerminate, SID: p.st.Sid,
		Reason: &xmpp.JingleReason{Condition: reason, Text: text}}
	p.st.State = sessionEnded
	el, err := xmpp.ElementOf(j)
	if err != nil {
		p.log.Error("build session-terminate", "err", err)
		return
	}
	p.log.Info("terminating session", "sid", j.SID, "reason", reason, "text", text)
	p.request(xmpp.NewIQ(xmpp.IQSet, "", p.occupantJID(), "", el), focalpb.OutgoingKind_OUTGOING_REQUEST, "",
		func(*xmpp.Element, error) {})
}

// onIQ handles an IQ request from the occupant: Jingle for the current
// session, anything else refused.
func (p *participantActor) onIQ(ctx actor.Context, iq *xmpp.Element) {
	payload := iq.Child(xmpp.JingleNS, "jingle")
	if payload == nil {
		p.reply(xmpp.ErrorFor(iq, xmpp.NewStanzaError(xmpp.FeatureNotImplemented, "")))
		return
	}
	var j xmpp.Jingle
	if err := payload.Decode(&j); err != nil {
		p.reply(xmpp.ErrorFor(iq, xmpp.NewStanzaError(xmpp.BadRequest, "malformed jingle: "+err.Error())))
		return
	}
	action := j.Action.Canonical()
	if !handled(action) {
		p.reply(xmpp.ErrorFor(iq, xmpp.NewStanzaError(xmpp.FeatureNotImplemented, "unsupported jingle action "+string(j.Action))))
		return
	}
	if j.SID == "" || j.SID != p.st.Sid {
		p.reply(xmpp.ErrorFor(iq, xmpp.NewStanzaError(xmpp.ItemNotFound, fmt.Sprintf("unknown jingle session %q", j.SID))))
		return
	}
	if p.st.State == sessionEnded {
		p.reply(xmpp.ErrorFor(iq, xmpp.NewStanzaError(xmpp.Gone, "jingle session "+j.SID+" has ended")))
		return
	}
	switch action {
	case xmpp.JingleSessionAccept, xmpp.JingleTransportAccept:
		p.onAccept(ctx, iq, &j)
	case xmpp.JingleTransportInfo:
		p.reply(xmpp.ResultFor(iq, nil))
		if t := j.ICETransport(); t != nil {
			p.tell(&TransportChanged{Nick: p.cfg.Nick, Transport: t})
		}
	case xmpp.JingleSourceAdd, xmpp.JingleSourceRemove:
		p.onSourceChange(ctx, iq, &j, action == xmpp.JingleSourceRemove)
	case xmpp.JingleSessionInfo:
		p.onSessionInfo(ctx, iq, &j)
	case xmpp.JingleSessionTerminate:
		p.onTerminate(ctx, iq, &j)
	case xmpp.JingleTransportReject:
		p.log.Warn("client rejected the transport", "sid", j.SID)
		p.reply(xmpp.ResultFor(iq, nil))
	}
}

// handled reports whether the focus implements action from a client.
func handled(a xmpp.JingleAction) bool {
	switch a {
	case xmpp.JingleSessionAccept, xmpp.JingleTransportAccept, xmpp.JingleTransportInfo,
		xmpp.JingleSourceAdd, xmpp.JingleSourceRemove, xmpp.JingleSessionInfo,
		xmpp.JingleSessionTerminate, xmpp.JingleTransportReject:
		return true
	}
	return false
}

func (p *participantActor) onAccept(ctx actor.Context, iq *xmpp.Element, j *xmpp.Jingle) {
	if p.st.State != sessionPending {
		p.reply(xmpp.ErrorFor(iq, xmpp.NewStanzaError(xmpp.BadRequest, "session "+j.SID+" was already accepted")))
		return
	}
	sources, err := p.readSources(j)
	if err != nil {
		p.reply(xmpp.ErrorFor(iq, xmpp.NewStanzaError(xmpp.BadRequest, err.Error())))
		return
	}
	if p.cfg.Visitor && !sources.Empty() {
		p.reply(xmpp.ErrorFor(iq, xmpp.NewStanzaError(xmpp.Forbidden, "a visitor may not send sources")))
		return
	}
	p.st.State = sessionActive
	acc := &Accepted{Nick: p.cfg.Nick, Transport: j.ICETransport(), Sources: sources, IQ: iq}
	if n, ok := j.InitialLastN(); ok {
		acc.InitialLastN = &n
	}
	p.log.Info("session accepted", "sid", j.SID, "sources", sources.String())
	// The conference signals the others' sources that changed since the
	// offer once it learns the session is accepted.
	p.tell(acc)
}

func (p *participantActor) onSourceChange(ctx actor.Context, iq *xmpp.Element, j *xmpp.Jingle, remove bool) {
	if p.cfg.Visitor && !remove {
		p.reply(xmpp.ErrorFor(iq, xmpp.NewStanzaError(xmpp.Forbidden, "a visitor may not add sources")))
		return
	}
	sources, err := p.readSources(j)
	if err != nil {
		p.reply(xmpp.ErrorFor(iq, xmpp.NewStanzaError(xmpp.BadRequest, err.Error())))
		return
	}
	p.tell(&SourcesChanged{Nick: p.cfg.Nick, Remove: remove, Sources: sources, IQ: iq})
}

// readSources reads the client's own sources from contents or, for
// clients speaking JSON, from <json-message/> (its only owner).
func (p *participantActor) readSources(j *xmpp.Jingle) (sources.Set, error) {
	set, err := sources.FromJingle(j.Contents)
	if err != nil || j.JSONMessage == nil {
		return set, err
	}
	byOwner, err := sources.DecodeJSON(j.JSONMessage.Text)
	if err != nil {
		return sources.Set{}, fmt.Errorf("json-message: %w", err)
	}
	for _, s := range byOwner {
		set = set.Union(s)
	}
	return set, nil
}

func (p *participantActor) onSessionInfo(ctx actor.Context, iq *xmpp.Element, j *xmpp.Jingle) {
	bs := j.BridgeSession
	if bs != nil && bs.ICERestart {
		p.onICERestart(ctx, iq, j)
		return
	}
	if j.ICEState == nil || j.ICEState.State != xmpp.JingleICEStateFailed {
		p.reply(xmpp.ResultFor(iq, nil)) // mute and other informational payloads
		return
	}
	if bs != nil && bs.ID != p.st.BridgeSession {
		p.reply(xmpp.ErrorFor(iq, xmpp.NewStanzaError(xmpp.ItemNotFound, "stale bridge session "+bs.ID)))
		return
	}
	if !p.restarts.allow(p.cfg.Now()) {
		p.reply(xmpp.ErrorFor(iq, xmpp.NewStanzaError(xmpp.ResourceConstraint, "rate-limited")))
		return
	}
	p.reply(xmpp.ResultFor(iq, nil))
	p.log.Info("client reports ICE failed; re-inviting", "sid", j.SID)
	p.tell(&RestartRequested{Nick: p.cfg.Nick, Reason: "ICE failed"})
}

// onICERestart handles a session-info asking for an in-place ICE restart
// (<bridge-session ice-restart='true'/>): answered at once, the bridge is
// asked for new ICE credentials and the client gets them in a
// transport-info of the same session (Jicofo's enable-ice-restart).
func (p *participantActor) onICERestart(ctx actor.Context, iq *xmpp.Element, j *xmpp.Jingle) {
	if !p.cfg.ICERestart {
		p.reply(xmpp.ErrorFor(iq, xmpp.NewStanzaError(xmpp.FeatureNotImplemented, "in-place ICE restart is not supported; report ICE failed instead")))
		return
	}
	if j.BridgeSession.ID != p.st.BridgeSession {
		p.reply(xmpp.ErrorFor(iq, xmpp.NewStanzaError(xmpp.ItemNotFound, "stale bridge session "+j.BridgeSession.ID)))
		return
	}
	if !p.iceRestarts.allow(p.cfg.Now()) {
		p.reply(xmpp.ErrorFor(iq, xmpp.NewStanzaError(xmpp.ResourceConstraint, "rate-limited")))
		return
	}
	p.reply(xmpp.ResultFor(iq, nil))
	p.log.Info("client asks for an ICE restart", "sid", j.SID)
	p.tell(&ICERestartRequested{Nick: p.cfg.Nick, BridgeSession: p.st.BridgeSession})
}

// sendTransportInfo gives the client the bridge's new transport after an
// ICE restart: a transport-info of the current session, one content per
// content of the offer.
func (p *participantActor) sendTransportInfo(msg *TransportInfo) {
	if p.st.State != sessionPending && p.st.State != sessionActive {
		return // the session ended meanwhile; a new one has its own transport
	}
	forClient := offer.For(p.st.Features)
	if forClient == nil {
		return
	}
	j := &xmpp.Jingle{Action: xmpp.JingleTransportInfo, SID: p.st.Sid}
	for _, c := range offer.Contents(*forClient) {
		j.Contents = append(j.Contents, xmpp.JingleContent{Creator: c.Creator, Name: c.Name})
	}
	offer.UseBridgeTransport(j, msg.Transport, msg.SCTPPort)
	for i := range j.Contents {
		if msg.SCTPPort == 0 && j.Contents[i].Transport != nil {
			// The bridge did not repeat its SCTP port: the one of the
			// offer stands.
			j.Contents[i].Transport.SCTPMap = nil
		}
	}
	el, err := xmpp.ElementOf(j)
	if err != nil {
		p.log.Error("build transport-info", "err", err)
		return
	}
	p.log.Info("sending the bridge's new transport", "sid", j.SID, "ice_generation", msg.Transport.ICEGeneration)
	log := p.log
	p.request(xmpp.NewIQ(xmpp.IQSet, "", p.occupantJID(), "", el), focalpb.OutgoingKind_OUTGOING_REQUEST, "",
		func(_ *xmpp.Element, err error) {
			if err != nil {
				log.Warn("transport-info not accepted", "err", err)
			}
		})
}

func (p *participantActor) onTerminate(ctx actor.Context, iq *xmpp.Element, j *xmpp.Jingle) {
	p.st.State = sessionEnded
	restart := j.BridgeSession != nil && j.BridgeSession.Restart
	if !restart {
		p.reply(xmpp.ResultFor(iq, nil))
		p.log.Info("client ended its session", "sid", j.SID)
		p.tell(&SessionEnded{Nick: p.cfg.Nick, Reason: "terminated by the client"})
		return
	}
	if !p.restarts.allow(p.cfg.Now()) {
		// The session is over either way; the client is told why no new
		// one follows.
		p.reply(xmpp.ErrorFor(iq, xmpp.NewStanzaError(xmpp.ResourceConstraint, "rate-limited")))
		p.tell(&SessionEnded{Nick: p.cfg.Nick, Reason: "restart rate-limited"})
		return
	}
	p.reply(xmpp.ResultFor(iq, nil))
	p.log.Info("client asks for a new session", "sid", j.SID)
	p.tell(&RestartRequested{Nick: p.cfg.Nick, Reason: "restart requested by the client"})
}

func (p *participantActor) reply(stanza *xmpp.Element) { p.send(stanza) }
