package conference

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"

	"focal/actors/bridge"
	"focal/actors/participant"
	"focal/media/sources"
	"focal/proto"
	"focal/xmpp"
)

// What participants report about their Jingle sessions. The conference
// owns the conference-wide source map: it validates every change, answers
// the client, tells the bridge and fans the change out to the others.

// onReport takes in all that followed from one message a participant
// handled: its events, its state, the stanzas for its client.
func (c *conference) onReport(ctx actor.Context, r *participant.Report) {
	for _, e := range r.Events {
		switch e := e.(type) {
		case *participant.Accepted:
			c.onAccepted(ctx, e)
		case *participant.TransportChanged:
			c.onTransport(ctx, e)
		case *participant.SourcesChanged:
			c.onSourcesChanged(ctx, e)
		case *participant.RestartRequested:
			c.onRestartRequested(ctx, e)
		case *participant.ICERestartRequested:
			c.onICERestartRequested(ctx, e)
		case *participant.SessionEnded:
			c.onSessionEnded(ctx, e)
		default:
			c.log.Error("unknown participant event", "participant", r.Nick, "event", fmt.Sprintf("%T", e))
		}
	}
	c.onParticipantState(ctx, r.Nick, r.State)
	c.queueFrom(r.Nick, r.Out)
}

// onParticipantState keeps what a participant reported for the replica.
// The first state with the client's features makes it ready to invite.
func (c *conference) onParticipantState(ctx actor.Context, nick string, state *focalpb.JingleState) {
	m := c.members[nick]
	if m == nil || state == nil {
		return
	}
	ready, wasAccepted := m.offer() != nil, c.accepted(m)
	m.Jingle = state
	if !ready && m.offer() != nil {
		// m may be the participant that makes media worth it, or one a
		// bridge is found for now.
		c.retrySelection(ctx)
	}
	if !wasAccepted && c.accepted(m) && !m.batch.empty() && !c.standby {
		// Accepted just now: what changed since the offer goes at once,
		// as Jicofo does on session-accept; later changes wait for the
		// delay.
		c.sendBatch(m)
	}
}

func (c *conference) onAccepted(ctx actor.Context, a *participant.Accepted) {
	m := c.members[a.Nick]
	if m == nil || !m.Allocated {
		c.reply(xmpp.ErrorFor(a.IQ, xmpp.NewStanzaError(xmpp.ItemNotFound, "no endpoint for "+a.Nick)))
		return
	}
	added, err := c.sources.TryAdd(m.Nick, a.Sources)
	if err != nil {
		c.reply(xmpp.ErrorFor(a.IQ, xmpp.NewStanzaError(xmpp.BadRequest, err.Error())))
	} else {
		c.reply(xmpp.ResultFor(a.IQ, nil))
	}
	all := c.sources.SourcesOf(m.Nick)
	c.updateEndpoint(ctx, m, &bridge.UpdateEndpoint{Endpoint: m.Nick, Transport: a.Transport, Sources: &all, InitialLastN: a.InitialLastN})
	if err == nil {
		c.recordChange(m.Nick, false, added)
	}
}

func (c *conference) onTransport(ctx actor.Context, t *participant.TransportChanged) {
	if m := c.members[t.Nick]; m != nil && m.Allocated {
		c.updateEndpoint(ctx, m, &bridge.UpdateEndpoint{Endpoint: m.Nick, Transport: t.Transport})
	}
}

func (c *conference) onSourcesChanged(ctx actor.Context, s *participant.SourcesChanged) {
	m := c.members[s.Nick]
	if m == nil {
		c.reply(xmpp.ErrorFor(s.IQ, xmpp.NewStanzaError(xmpp.ItemNotFound, "no participant "+s.Nick)))
		return
	}
	var changed sources.Set
	var err error
	if s.Remove {
		changed, err = c.sources.TryRemove(m.Nick, s.Sources)
	} else {
		changed, err = c.sources.TryAdd(m.Nick, s.Sources)
	}
	if err != nil {
		c.reply(xmpp.ErrorFor(s.IQ, xmpp.NewStanzaError(xmpp.BadRequest, err.Error())))
		return
	}
	c.reply(xmpp.ResultFor(s.IQ, nil))
	if changed.Empty() {
		return
	}
	all := c.sources.SourcesOf(m.Nick)
	if m.Allocated {
		c.updateEndpoint(ctx, m, &bridge.UpdateEndpoint{Endpoint: m.Nick, Sources: &all})
	}
	c.recordChange(m.Nick, s.Remove, changed)
}

func (c *conference) onRestartRequested(ctx actor.Context, r *participant.RestartRequested) {
	if m := c.members[r.Nick]; m != nil {
		c.move(ctx, m, r.Reason, true)
	}
}

// onICERestartRequested asks the participant's bridge for new ICE
// credentials of its endpoint (an in-place ICE restart); a participant
// without an endpoint there gets a new session instead.
func (c *conference) onICERestartRequested(ctx actor.Context, r *participant.ICERestartRequested) {
	m := c.members[r.Nick]
	if m == nil || m.BridgeSession != r.BridgeSession {
		return // moved meanwhile: its new session is on its way
	}
	bs := c.bridges[m.Bridge]
	if bs == nil || !m.Allocated {
		c.move(ctx, m, "ICE restart without an endpoint", true)
		return
	}
	c.log.Info("restarting ICE", "participant", m.Nick, "bridge", m.Bridge)
	c.tellBridge(bs.pid, m, &bridge.RestartICE{Endpoint: m.Nick})
}

// onICERestarted passes the bridge's new transport to the participant, or
// re-invites it if the bridge declined the ICE restart.
func (c *conference) onICERestarted(ctx actor.Context, r *bridge.ICERestarted) {
	m := c.members[r.Endpoint]
	if m == nil || m.Bridge != r.Bridge || m.BridgeSession != r.Session || !m.Allocated {
		return
	}
	if r.Transport == nil {
		c.move(ctx, m, "bridge declined the ICE restart", true)
		return
	}
	ctx.Send(m.pid, &participant.TransportInfo{Transport: r.Transport, SCTPPort: r.SCTPPort})
}

func (c *conference) onSessionEnded(ctx actor.Context, e *participant.SessionEnded) {
	m := c.members[e.Nick]
	if m == nil {
		return
	}
	c.log.Info("participant's media ended", "participant", m.Nick, "reason", e.Reason)
	c.dropEndpoint(ctx, m, true)
	c.withdrawSources(ctx, m.Nick)
	m.NoMedia = true // not invited again while it stays in the room
}

// withdrawSources removes every source of nick and tells the others.
func (c *conference) withdrawSources(ctx actor.Context, nick string) {
	if removed := c.sources.RemoveOwner(nick); !removed.Empty() {
		c.recordChange(nick, true, removed)
	}
}

func (c *conference) updateEndpoint(ctx actor.Context, m *member, u *bridge.UpdateEndpoint) {
	if bs := c.bridges[m.Bridge]; bs != nil {
		c.tellBridge(bs.pid, m, u)
	}
}
