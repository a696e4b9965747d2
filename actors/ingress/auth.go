package ingress

import (
	"net/url"

	"github.com/asynkron/protoactor-go/actor"

	"focal/auth"
	"focal/proto"
	"focal/xmpp"
)

// The focus protocol's authentication requests on the component:
// <login-url/> (where the client sends its user to log in) and <logout/>
// (the end of a session, which its room's conference holds).

func (in *ingress) onAuthIQ(ctx actor.Context, iq, payload *xmpp.Element) {
	if !in.cfg.Auth.Enabled() {
		in.reply(in.cfg.Component, xmpp.ErrorFor(iq, xmpp.NewStanzaError(xmpp.ServiceUnavailable, "authentication is not enabled")))
		return
	}
	if payload.Name.Local == "login-url" {
		in.onLoginURL(iq, payload)
		return
	}
	if iq.AttrValue("type") != xmpp.IQSet {
		in.reply(in.cfg.Component, xmpp.ErrorFor(iq, xmpp.NewStanzaError(xmpp.BadRequest, "a logout is an IQ of type set")))
		return
	}
	id := payload.AttrValue("session-id")
	room, err := auth.RoomOfSession(id)
	if err != nil {
		in.reply(in.cfg.Component, xmpp.ErrorFor(iq, stanzaErrorOf(&focalpb.StanzaError{
			Type: xmpp.ErrorModify, Condition: xmpp.NotAcceptable, Text: "invalid session", SessionInvalid: true})))
		return
	}
	f := ctx.RequestFuture(in.cfg.Directory, &focalpb.Logout{Room: room, SessionId: id}, in.cfg.RequestTimeout)
	ctx.ReenterAfter(f, func(res any, err error) {
		resp, ok := res.(*focalpb.ConferenceResponse)
		switch {
		case err != nil || !ok:
			in.reply(in.cfg.Component, xmpp.ErrorFor(iq, xmpp.NewStanzaError(xmpp.RemoteServerTimeout, "the conference did not answer in time")))
		case resp.Error != nil:
			in.reply(in.cfg.Component, xmpp.ErrorFor(iq, stanzaErrorOf(resp.Error)))
		default:
			in.reply(in.cfg.Component, xmpp.ResultFor(iq, xmpp.NewElement(xmpp.NSFocus, "logout")))
		}
	})
}

// onLoginURL answers where to log in (auth.Config.LoginPage): for an
// XMPP-domain authority the room's page with ?login=true (Jitsi Meet then
// logs in on that domain), or the configured external login page.
func (in *ingress) onLoginURL(iq, payload *xmpp.Element) {
	if iq.AttrValue("type") != xmpp.IQGet {
		in.reply(in.cfg.Component, xmpp.ErrorFor(iq, xmpp.NewStanzaError(xmpp.BadRequest, "a login-url request is an IQ of type get")))
		return
	}
	room, err := xmpp.ParseRoomJID(payload.AttrValue("room"))
	if err != nil {
		in.reply(in.cfg.Component, xmpp.ErrorFor(iq, xmpp.NewStanzaError(xmpp.NotAcceptable, "no valid room")))
		return
	}
	if payload.AttrValue("machine-uid") == "" {
		in.reply(in.cfg.Component, xmpp.ErrorFor(iq, xmpp.NewStanzaError(xmpp.BadRequest, "no machine-uid")))
		return
	}
	u := in.cfg.Auth.LoginPage(room.Localpart(), payload.AttrValue("machine-uid"))
	if u == "" {
		in.reply(in.cfg.Component, xmpp.ErrorFor(iq, xmpp.NewStanzaError(xmpp.ItemNotFound, "no login page: the client knows where its users log in")))
		return
	}
	in.reply(in.cfg.Component, xmpp.ResultFor(iq, xmpp.NewElement(xmpp.NSFocus, "login-url", "url", url.QueryEscape(u))))
}

// stanzaErrorOf is the stanza error a conference answered with.
func stanzaErrorOf(e *focalpb.StanzaError) xmpp.StanzaError {
	se := xmpp.StanzaError{Type: e.Type, Condition: e.Condition, Text: e.Text}
	if e.SessionInvalid {
		se.App = xmpp.NewElement(xmpp.NSFocus, "session-invalid")
	}
	return se
}
