// Package participant holds the participant actor: one per occupant of a
// conference's room, a child of its conference actor, running the Jingle
// session between the focus and that occupant.
package participant

import (
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"focal/actors/await"
	"focal/proto"
	"focal/xmpp"
	"focal/xmpp/caps"
	"focal/xmpp/session"
)

// Config of one participant actor.
type Config struct {
	Room string // bare room JID
	Nick string // the occupant's nick, also its endpoint id
	// Visitor: the occupant is a visitor (in a visitor node's room, Room):
	// it receives media and may not send any, as Jicofo's visitors.
	Visitor bool
	// JSONSources sends sources as <json-message/> to clients that
	// advertise support for it (Jicofo's use-json-encoded-sources).
	JSONSources bool
	// StripSimulcast tells the client of each other participant's
	// simulcast only the first layer's SSRC and its retransmission stream
	// (Jicofo's strip-simulcast): the bridge forwards every layer on those,
	// and a client that is told all layers makes one receiver per layer
	// (Chromium refuses the duplicate msids).
	StripSimulcast bool
	// ICERestart answers a client's request for an in-place ICE restart
	// (Jicofo's enable-ice-restart); without it such a request is refused
	// with feature-not-implemented.
	ICERestart bool
	Logger     *slog.Logger
	// Now reads the clock for rate limits; tests may replace it.
	Now func() time.Time
	// Restore, when set, carries on a session another node started (the
	// state it last reported): the features are known and no disco#info is
	// sent.
	Restore *focalpb.JingleState
	// Caps is what the occupant's presence announced (XEP-0115), and
	// CapsCache the features of the vers proved before: a ver in it saves
	// the disco#info round trip; an answer that proves a new one goes in.
	Caps      caps.Caps
	CapsCache *caps.Cache
}

type participantActor struct {
	cfg  Config
	log  *slog.Logger
	self *actor.PID
	root *actor.RootContext

	// st is the participant's state: its Jingle session and the client's
	// features, in the shape the replica keeps. reported is what the
	// conference was last told; after every message a state that differs
	// from it is reported (Report), so no change can go unreported.
	st       *focalpb.JingleState
	reported *focalpb.JingleState
	// events and out are what handling the current message has for the
	// conference and for the client; they go with the state in one
	// Report.
	events   []any
	out      []Outgoing
	features map[string]bool // st.Features, for lookups
	restarts *restartLimit
	// iceRestarts is the separate budget of in-place ICE restarts.
	iceRestarts *restartLimit
}

// Props returns the props of a participant actor.
func Props(cfg Config) *actor.Props {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return actor.PropsFromProducer(func() actor.Actor {
		p := &participantActor{
			cfg:      cfg,
			log:      cfg.Logger.With("participant", cfg.Nick),
			st:       &focalpb.JingleState{},
			restarts: newRestartLimit(),
			// ICE restarts have a budget of their own.
			iceRestarts: newRestartLimit(),
		}
		if r := cfg.Restore; r != nil {
			p.st = proto.Clone(r).(*focalpb.JingleState)
			p.indexFeatures()
		}
		// The conference knows this state already (empty, or the restored
		// one); a copy, so that changes to st show.
		p.reported = proto.Clone(p.st).(*focalpb.JingleState)
		return p
	})
}

// IQ is a Jingle (or other) IQ request the occupant sent the focus.
type IQ struct{ El *xmpp.Element }

// Receive handles one message and reports all that follows from it in
// one Report: the conference takes in the events, the new state and the
// stanzas at once, so its replica never has one without the others.
func (p *participantActor) Receive(ctx actor.Context) {
	p.handle(ctx)
	changed := !proto.Equal(p.st, p.reported)
	if !changed && len(p.events) == 0 && len(p.out) == 0 {
		return
	}
	if changed {
		// Neither side changes a reported state: it is replaced.
		p.reported = proto.Clone(p.st).(*focalpb.JingleState)
	}
	ctx.Send(ctx.Parent(), &Report{Nick: p.cfg.Nick, Events: p.events, State: p.reported, Out: p.out})
	p.events, p.out = nil, nil
}

func (p *participantActor) handle(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		p.self, p.root = ctx.Self(), ctx.ActorSystem().Root
		if p.cfg.Restore != nil {
			p.log.Info("session taken over", "sid", p.st.Sid, "state", p.st.State)
			return
		}
		if f, ok := p.cfg.CapsCache.Features(p.cfg.Caps); ok {
			p.log.Debug("features known from the presence's caps", "ver", p.cfg.Caps.Ver)
			p.onFeatures(discoResult{features: f})
			return
		}
		p.discoverFeatures()
	case discoResult:
		p.onFeatures(msg)
	case *Invite:
		p.invite(ctx, msg)
	case *InitiateAnswered:
		p.onInitiateAnswered(msg)
	case *await.Barrier:
		ctx.Respond(msg)
	case *Terminate:
		p.terminate(msg.Reason, msg.Text)
	case *TransportInfo:
		p.sendTransportInfo(msg)
	case *IQ:
		p.onIQ(ctx, msg.El)
	}
}

func (p *participantActor) occupantJID() string { return p.cfg.Room + "/" + p.cfg.Nick }

// deliver hands msg (a response callback's result) to the participant.
func (p *participantActor) deliver(msg any) {
	p.root.Send(p.self, msg)
}

// tell queues an event for the conference.
func (p *participantActor) tell(event any) { p.events = append(p.events, event) }

// send queues a stanza for the client.
func (p *participantActor) send(stanza *xmpp.Element) {
	p.out = append(p.out, Outgoing{El: stanza, Kind: focalpb.OutgoingKind_OUTGOING_STANZA})
}

// request queues an IQ request for the client; answer gets the client's
// answer (or why there is none) while this node drives the conference.
func (p *participantActor) request(iq *xmpp.Element, kind focalpb.OutgoingKind, sid string, answer session.ResponseFunc) {
	p.out = append(p.out, Outgoing{El: iq, Kind: kind, SID: sid, Answer: answer})
}
