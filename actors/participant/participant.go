// Package participant holds the participant actor: one per occupant of a
// conference's room, a child of its conference actor, running the Jingle
// session between the focus and that occupant.
package participant

import (
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"focal/xmpp"
	"focal/xmpp/session"
)

// Config of one participant actor.
type Config struct {
	Room string // bare room JID
	Nick string // the occupant's nick, also its endpoint id
	Wire session.Wire
	// RequestTimeout bounds session-initiate and disco#info. A
	// session-initiate that times out counts as delivered (Jicofo does the
	// same: slow clients still answer with session-accept).
	RequestTimeout time.Duration
	// JSONSources sends sources as <json-message/> to clients that
	// advertise support for it (Jicofo's use-json-encoded-sources).
	JSONSources bool
	Logger      *slog.Logger
	// Now reads the clock for rate limits; tests may replace it.
	Now func() time.Time
	// Restore, when set, carries on a session another node started: the
	// features are known and no disco#info is sent.
	Restore *Session
}

type participantActor struct {
	cfg  Config
	log  *slog.Logger
	self *actor.PID
	root *actor.RootContext

	features map[string]bool
	jingle   jingleSession
	restarts *restartLimit
}

// Props returns the props of a participant actor.
func Props(cfg Config) *actor.Props {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 15 * time.Second
	}
	return actor.PropsFromProducer(func() actor.Actor {
		return &participantActor{
			cfg:      cfg,
			log:      cfg.Logger.With("participant", cfg.Nick),
			restarts: newRestartLimit(),
		}
	})
}

// IQ is a Jingle (or other) IQ request the occupant sent the focus.
type IQ struct{ El *xmpp.Element }

func (p *participantActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		p.self, p.root = ctx.Self(), ctx.ActorSystem().Root
		if r := p.cfg.Restore; r != nil {
			p.restore(r)
			return
		}
		p.discoverFeatures()
	case discoResult:
		p.onFeatures(ctx, msg)
		p.reportSession(ctx)
	case *Invite:
		p.invite(ctx, msg)
		p.reportSession(ctx)
	case initiateResult:
		p.onInitiateResult(ctx, msg)
		p.reportSession(ctx)
	case *RemoteSources:
		p.onRemoteSources(msg)
	case *Barrier:
		ctx.Respond(msg)
	case *Terminate:
		p.terminate(msg.Reason, msg.Text)
		p.reportSession(ctx)
	case *IQ:
		before := p.jingle
		p.onIQ(ctx, msg.El)
		if p.jingle.sid != before.sid || p.jingle.state != before.state {
			p.reportSession(ctx)
		}
	case *actor.Stopping:
		// The occupant left: its session ends with it, nothing to send.
		p.jingle.state = sessionEnded
	}
}

func (p *participantActor) occupantJID() string { return p.cfg.Room + "/" + p.cfg.Nick }

// restore takes over a session from the replicated state.
func (p *participantActor) restore(r *Session) {
	p.features = make(map[string]bool, len(r.Features))
	for _, f := range r.Features {
		p.features[f] = true
	}
	p.jingle = jingleSession{sid: r.SID, state: parseSessionState(r.State), bridge: r.Bridge, bridgeSession: r.BridgeSession}
	p.log.Info("session taken over", "sid", r.SID, "state", r.State)
}

// reportSession tells the conference where the session stands.
func (p *participantActor) reportSession(ctx actor.Context) {
	ctx.Send(ctx.Parent(), &SessionChanged{Nick: p.cfg.Nick, Session: Session{
		SID:           p.jingle.sid,
		State:         p.jingle.state.String(),
		Bridge:        p.jingle.bridge,
		BridgeSession: p.jingle.bridgeSession,
		Features:      sortedFeatures(p.features),
	}})
}

// deliver hands msg (a response callback's result) to the participant.
func (p *participantActor) deliver(msg any) {
	p.root.Send(p.self, msg)
}
