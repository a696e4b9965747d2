// Package participant holds the participant actor: one per occupant of a
// conference's room, a child of its conference actor.
package participant

import (
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"

	"focal/xmpp"
)

// Presence is the latest MUC presence of the participant.
type Presence struct{ Occupant xmpp.OccupantPresence }

// GetState asks for a State reply.
type GetState struct{}

// State is a copy of what the participant actor knows, for debugging views.
type State struct {
	Room        string
	Nick        string
	RealJID     string
	Role        string
	Affiliation string
	StatsID     string
	Region      string
}

type participantActor struct {
	state State
	log   *slog.Logger
}

// Props returns the props of the participant for nick in room.
func Props(room, nick string, log *slog.Logger) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &participantActor{
			state: State{Room: room, Nick: nick},
			log:   log.With("participant", nick),
		}
	})
}

func (p *participantActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		p.log.Debug("participant joined")
	case *Presence:
		p.update(msg.Occupant)
	case *GetState:
		ctx.Respond(p.state)
	case *actor.Stopped:
		p.log.Debug("participant left")
	}
}

func (p *participantActor) update(o xmpp.OccupantPresence) {
	if o.Role != p.state.Role || o.Affiliation != p.state.Affiliation {
		p.log.Info("participant role", "role", o.Role, "affiliation", o.Affiliation)
	}
	p.state.RealJID = o.RealJID
	p.state.Role = o.Role
	p.state.Affiliation = o.Affiliation
	// Jitsi clients announce these as un-namespaced presence children.
	if el := o.Stanza.Child("", "stats-id"); el != nil {
		p.state.StatsID = el.Text
	}
	if el := o.Stanza.Child("", "jitsi_participant_region"); el != nil {
		p.state.Region = el.Text
	}
}
