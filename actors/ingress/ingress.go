// Package ingress holds the ingress actor: the one entry from the XMPP wire.
// It validates conference requests and routes them, and every stanza about a
// room, to the conference directory.
package ingress

import (
	"log/slog"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"mellium.im/xmpp/jid"

	"focal/actors/bridge"
	"focal/actors/conference"
	"focal/auth"
	"focal/proto"
	"focal/visitors"
	"focal/xmpp"
	"focal/xmpp/session"
)

// NSPing is XMPP ping (XEP-0199).
const NSPing = "urn:xmpp:ping"

// ComponentStanza is a stanza that arrived on the focus component stream
// (conference requests).
type ComponentStanza struct{ El *xmpp.Element }

// ClientStanza is a stanza that arrived on a focus client stream (MUC
// presence and whatever occupants send the focus). Via is the stream it
// came on, for answers that must come from the address it was sent to;
// nil means Config.Client.
type ClientStanza struct {
	El  *xmpp.Element
	Via Replier
	// At is where the stanza stood in its shard session, if it came on one.
	At conference.StreamPos
}

// Replier sends a stanza on a stream without blocking.
type Replier interface {
	Send(stanza *xmpp.Element) error
}

// Config of the ingress actor.
type Config struct {
	Auth           auth.Config // authentication of conference requests (login-url, logout)
	Domain         string      // the client domain, whose disco#info lists Jitsi's components
	MUCDomain      string      // rooms must be on this MUC service (or the breakout rooms')
	Brewery        string      // brewery room JID; its stanzas go to Bridges
	Bridges        *actor.PID
	Component      Replier
	Client         session.Wire
	Directory      *actor.PID
	RequestTimeout time.Duration // how long a request may wait for its conference
	// Visitors: stanzas from the visitor nodes' rooms go to the main
	// room's conference.
	Visitors visitors.Config
	Logger   *slog.Logger
}

type ingress struct {
	cfg Config
	log *slog.Logger
	// components are Jitsi's Prosody components by type, as the domain's
	// disco#info last listed them (Discover).
	components map[string]string
	// discovered: the first discovery was answered (or failed). With
	// visitors on, conference requests wait for it in held: whether a
	// request goes to a visitor node depends on the visitors component.
	discovered bool
	held       []heldRequest
}

// heldRequest is a conference request waiting for the first discovery,
// with the requester to answer (HTTP) or nil (XMPP).
type heldRequest struct {
	msg    any
	sender *actor.PID
}

// holdForDiscovery keeps msg until the components are known, if it must
// wait for them.
func (in *ingress) holdForDiscovery(ctx actor.Context, msg any) bool {
	if !in.cfg.Visitors.Enabled || in.discovered {
		return false
	}
	if len(in.held) == 0 {
		// Never longer than a request may take: without an answer (the
		// client stream is down) they go on without visitors.
		self, root := ctx.Self(), ctx.ActorSystem().Root
		time.AfterFunc(in.cfg.RequestTimeout/2, func() { root.Send(self, discoveryOverdue{}) })
	}
	in.held = append(in.held, heldRequest{msg: msg, sender: ctx.Sender()})
	return true
}

// discoveryOverdue: requests held for the discovery waited long enough.
type discoveryOverdue struct{}

// releaseHeld handles the requests that waited for the discovery.
func (in *ingress) releaseHeld(ctx actor.Context) {
	held := in.held
	in.held = nil
	for _, h := range held {
		switch msg := h.msg.(type) {
		case *ComponentStanza:
			in.onComponentStanza(ctx, msg.El)
		case *focalpb.ConferenceRequest:
			in.onHTTPRequest(ctx, msg, h.sender)
		}
	}
}

// Discover asks the domain for Jitsi's components again: at start and
// after the node's client stream reconnects (a reconfigured server may
// list others).
type Discover struct{}

// componentsFound is the answer to Discover's query.
type componentsFound struct {
	components map[string]string
	err        error
}

// Props returns the ingress actor's props.
func Props(cfg Config) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &ingress{cfg: cfg, log: cfg.Logger.With("actor", "ingress")}
	})
}

func (in *ingress) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *ComponentStanza:
		if in.holdForDiscovery(ctx, msg) {
			return
		}
		in.onComponentStanza(ctx, msg.El)
	case *ClientStanza:
		via := msg.Via
		if via == nil {
			via = in.cfg.Client
		}
		in.onClientStanza(ctx, msg.El, via, msg.At)
	case *Discover:
		in.discover(ctx)
	case componentsFound:
		in.onComponents(msg)
		in.discovered = true
		in.releaseHeld(ctx)
	case discoveryOverdue:
		if len(in.held) > 0 {
			in.log.Warn("component discovery unanswered; requests go on without visitors", "requests", len(in.held))
		}
		in.releaseHeld(ctx)
	case *conference.Barrier:
		// Behind every stanza this actor passed on before it.
		ctx.Forward(in.cfg.Directory)
	case *focalpb.ConferenceRequest:
		if in.holdForDiscovery(ctx, msg) {
			return
		}
		in.onHTTPRequest(ctx, msg, ctx.Sender())
	}
}

// onHTTPRequest passes on a conference request from HTTP; the conference
// answers the requester directly.
func (in *ingress) onHTTPRequest(ctx actor.Context, msg *focalpb.ConferenceRequest, sender *actor.PID) {
	if err := in.validate(msg); err != nil {
		ctx.Send(sender, errorResponse(msg.Room, err))
		return
	}
	msg.VisitorsComponent = in.visitorsComponent()
	ctx.RequestWithCustomSender(in.cfg.Directory, msg, sender)
}

func (in *ingress) onComponentStanza(ctx actor.Context, el *xmpp.Element) {
	if !xmpp.IsIQRequest(el) {
		return // presence or message to the component: nothing to do
	}
	payload := el.FirstChild()
	switch {
	case payload == nil:
		in.reply(in.cfg.Component, xmpp.ErrorFor(el, xmpp.NewStanzaError(xmpp.BadRequest, "IQ without a payload")))
	case payload.Name.Space == xmpp.NSFocus && payload.Name.Local == "conference":
		in.onConferenceIQ(ctx, el, payload)
	case payload.Name.Space == xmpp.NSFocus && (payload.Name.Local == "login-url" || payload.Name.Local == "logout"):
		in.onAuthIQ(ctx, el, payload)
	case payload.Name.Space == NSPing && el.AttrValue("type") == xmpp.IQGet:
		in.reply(in.cfg.Component, xmpp.ResultFor(el, nil))
	default:
		in.reply(in.cfg.Component, xmpp.ErrorFor(el, xmpp.NewStanzaError(xmpp.ServiceUnavailable, "")))
	}
}

func (in *ingress) onConferenceIQ(ctx actor.Context, iq, payload *xmpp.Element) {
	if iq.AttrValue("type") != xmpp.IQSet {
		in.reply(in.cfg.Component, xmpp.ErrorFor(iq, xmpp.NewStanzaError(xmpp.BadRequest, "a conference request is an IQ of type set")))
		return
	}
	c, err := xmpp.ParseConferenceIQ(payload)
	if err != nil {
		in.reply(in.cfg.Component, xmpp.ErrorFor(iq, asStanzaError(err)))
		return
	}
	req := &focalpb.ConferenceRequest{
		Room:       c.Room,
		From:       iq.AttrValue("from"),
		SessionId:  c.SessionID,
		MachineUid: c.MachineUID,
		Identity:   c.Identity,
		Vnode:      c.VNode,
		Token:      c.Token,

		VisitorsComponent: in.visitorsComponent(),
	}
	for _, p := range c.Properties {
		req.Properties = append(req.Properties, &focalpb.Property{Name: p.Name, Value: p.Value})
	}
	if err := in.validate(req); err != nil {
		in.reply(in.cfg.Component, xmpp.ErrorFor(iq, *err))
		return
	}
	log := in.log.With("room", req.Room, "from", req.From)
	log.Debug("conference request")
	f := ctx.RequestFuture(in.cfg.Directory, req, in.cfg.RequestTimeout)
	ctx.ReenterAfter(f, func(res any, err error) {
		resp, ok := res.(*focalpb.ConferenceResponse)
		if err != nil || !ok {
			log.Warn("conference request unanswered", "err", err)
			in.reply(in.cfg.Component, xmpp.ErrorFor(iq, xmpp.NewStanzaError(xmpp.RemoteServerTimeout, "the conference did not answer in time")))
			return
		}
		if resp.Error != nil {
			in.reply(in.cfg.Component, xmpp.ErrorFor(iq, stanzaErrorOf(resp.Error)))
			return
		}
		in.reply(in.cfg.Component, xmpp.ResultFor(iq, ConferenceIQOf(resp).Element()))
	})
}

// validate checks the room is a valid JID on our MUC service, and
// normalises it so that one room has one conference whatever its spelling.
func (in *ingress) validate(req *focalpb.ConferenceRequest) *xmpp.StanzaError {
	if req.Room == "" {
		e := xmpp.NewStanzaError(xmpp.BadRequest, "No 'room' specified.")
		return &e
	}
	room, err := xmpp.ParseRoomJID(req.Room)
	if err != nil {
		e := asStanzaError(err)
		return &e
	}
	if !in.isRoomService(room.Domainpart()) {
		e := xmpp.NewStanzaError(xmpp.NotAllowed, "room "+req.Room+" is not on "+in.cfg.MUCDomain)
		return &e
	}
	req.Room = room.String()
	return nil
}

func (in *ingress) onClientStanza(ctx actor.Context, el *xmpp.Element, via Replier, at conference.StreamPos) {
	from, err := jid.Parse(el.AttrValue("from"))
	if err == nil && in.cfg.Bridges != nil && strings.EqualFold(from.Bare().String(), in.cfg.Brewery) {
		ctx.Send(in.cfg.Bridges, &bridge.Stanza{El: el})
		return
	}
	if err == nil && in.isRoomService(from.Domainpart()) && from.Localpart() != "" {
		ctx.Send(in.cfg.Directory, &conference.Stanza{Room: from.Bare().String(), El: el, Via: via, At: at})
		return
	}
	if err == nil && from.Localpart() != "" && in.cfg.Visitors.Enabled {
		if _, ok := in.cfg.Visitors.NodeOfMUC(from.Domainpart()); ok {
			// A visitor room: its conference is the main room's.
			main := from.Localpart() + "@" + in.cfg.MUCDomain
			ctx.Send(in.cfg.Directory, &conference.Stanza{Room: main, El: el, Via: via})
			return
		}
	}
	if el.Name.Local == xmpp.KindMessage {
		in.onMessage(ctx, el, via)
		return
	}
	if !xmpp.IsIQRequest(el) {
		return
	}
	if p := el.FirstChild(); p != nil && p.Name.Space == NSPing && el.AttrValue("type") == xmpp.IQGet {
		in.reply(via, xmpp.ResultFor(el, nil))
		return
	}
	in.reply(via, xmpp.ErrorFor(el, xmpp.NewStanzaError(xmpp.ServiceUnavailable, "")))
}

func (in *ingress) reply(r Replier, stanza *xmpp.Element) {
	if err := r.Send(stanza); err != nil {
		in.log.Warn("reply not sent", "to", stanza.AttrValue("to"), "err", err)
	}
}

// ConferenceIQOf turns a conference's answer into the <conference/> payload.
func ConferenceIQOf(resp *focalpb.ConferenceResponse) xmpp.ConferenceIQ {
	c := xmpp.ConferenceIQ{
		Room:      resp.Room,
		Ready:     resp.Ready,
		FocusJID:  resp.FocusJid,
		VNode:     resp.Vnode,
		SessionID: resp.SessionId,
		Identity:  resp.Identity,
	}
	for _, p := range resp.Properties {
		c.Properties = append(c.Properties, xmpp.Property{Name: p.Name, Value: p.Value})
	}
	return c
}

func asStanzaError(err error) xmpp.StanzaError {
	if se, ok := err.(xmpp.StanzaError); ok {
		return se
	}
	return xmpp.NewStanzaError(xmpp.BadRequest, err.Error())
}

func errorResponse(room string, err *xmpp.StanzaError) *focalpb.ConferenceResponse {
	return &focalpb.ConferenceResponse{
		Room:  room,
		Error: &focalpb.StanzaError{Type: err.Type, Condition: err.Condition, Text: err.Text},
	}
}
