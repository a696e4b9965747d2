package directory

import (
	"errors"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"focal/auth"
	"focal/proto"
	"focal/xmpp"
)

// Authentication, the directory's side: with authentication on, only an
// authenticated user creates a room (Jicofo's rule), so a request that
// would create one is checked before a conference exists. Sessions live
// in their room's conference (conference/auth.go); a logout is routed to
// it like a request.

// mayCreate says why a request may not create its room's conference, or
// nil if it may.
func (d *directory) mayCreate(req *focalpb.ConferenceRequest) *focalpb.StanzaError {
	a := d.cfg.Conference.Auth
	if !a.Enabled() || d.isBreakout(req.Room) {
		return nil
	}
	if req.SessionId != "" {
		// Its room's conference, which held the session, has ended.
		return &focalpb.StanzaError{Type: xmpp.ErrorModify, Condition: xmpp.NotAcceptable, Text: "invalid session", SessionInvalid: true}
	}
	if _, ok := a.Identity(req.From); !ok {
		return &focalpb.StanzaError{Type: xmpp.ErrorAuth, Condition: xmpp.NotAuthorized, Text: "not authorized user domain"}
	}
	return nil
}

// checkToken refuses a request whose token is malformed, or does not
// verify against the deployment's secret, before anything acts on it: a
// made-up token gets neither a session nor a redirect.
func (d *directory) checkToken(req *focalpb.ConferenceRequest) *focalpb.StanzaError {
	err := d.cfg.Conference.Auth.CheckToken(req.Token, time.Now())
	switch {
	case err == nil:
		return nil
	case errors.Is(err, auth.ErrTokenRejected):
		return &focalpb.StanzaError{Type: xmpp.ErrorAuth, Condition: xmpp.NotAuthorized, Text: "token rejected: " + err.Error()}
	default:
		return &focalpb.StanzaError{Type: xmpp.ErrorModify, Condition: xmpp.BadRequest, Text: "token is not a readable JWT: " + err.Error()}
	}
}

// isBreakout says whether room is on another MUC service than the main
// rooms' (breakout rooms are not authenticated: Prosody's module is).
func (d *directory) isBreakout(room string) bool {
	main := d.cfg.Conference.MUCDomain
	_, domain, _ := strings.Cut(room, "@")
	return main != "" && !strings.EqualFold(domain, main)
}

// onLogout passes a logout to the conference of its room, on its owner.
func (d *directory) onLogout(ctx actor.Context, l *focalpb.Logout) {
	if owner, remote := d.remoteOwner(l.Room); remote && !l.Forwarded {
		l.Forwarded = true
		d.forwardTo(ctx, ctx.Sender(), owner, l, d.cfg.ForwardTimeout, nil, func(error) *focalpb.ConferenceResponse {
			return &focalpb.ConferenceResponse{Room: l.Room, Error: &focalpb.StanzaError{
				Type: xmpp.ErrorWait, Condition: xmpp.RemoteServerTimeout, Text: "the conference did not answer in time"}}
		})
		return
	}
	if r := d.rooms[l.Room]; r != nil && !r.standby {
		ctx.Forward(r.pid)
		return
	}
	if d.rooms[l.Room] != nil || d.inheriting(l.Room, time.Now()) {
		// The conference holding the session is moving here: the session
		// is not invalid, only out of reach for a moment.
		ctx.Respond(&focalpb.ConferenceResponse{Room: l.Room, Error: &focalpb.StanzaError{
			Type: xmpp.ErrorWait, Condition: xmpp.ServiceUnavailable, Text: "the conference is moving to another focus node; retry"}})
		return
	}
	ctx.Respond(&focalpb.ConferenceResponse{Room: l.Room, Error: &focalpb.StanzaError{
		Type: xmpp.ErrorModify, Condition: xmpp.NotAcceptable, Text: "invalid session", SessionInvalid: true}})
}
