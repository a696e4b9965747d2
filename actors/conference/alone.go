package conference

import (
	"github.com/asynkron/protoactor-go/actor"

	"focal/actors/participant"
	"focal/proto"
	"focal/xmpp"
)

// A participant left alone in the conference keeps its media session for
// Config.SingleParticipantTimeout; then, as Jicofo does, the session is
// terminated and its endpoint expired, so that nobody holds a bridge
// endpoint to talk to nobody. It is invited again when somebody joins.

// aloneTimeout is the end of the single-participant timeout gen.
type aloneTimeout struct{ gen int }

// checkAlone arms the single-participant timeout when exactly one
// participant is left, and disarms it otherwise.
func (c *conference) checkAlone() {
	alone := len(c.members) == 1 && c.cfg.SingleParticipantTimeout > 0 && !c.standby
	if alone && c.aloneT != nil {
		return // armed already
	}
	c.aloneGen++
	if c.aloneT != nil {
		c.aloneT.Stop()
		c.aloneT = nil
	}
	if alone {
		c.aloneT = c.after(c.cfg.SingleParticipantTimeout, aloneTimeout{gen: c.aloneGen})
	}
}

func (c *conference) onAloneTimeout(ctx actor.Context, msg aloneTimeout) {
	if msg.gen != c.aloneGen || len(c.members) != 1 || c.standby {
		return
	}
	c.aloneT = nil
	for _, m := range c.members {
		if st := m.GetJingle().GetState(); m.Bridge == "" && st != focalpb.SessionState_SESSION_ACTIVE && st != focalpb.SessionState_SESSION_PENDING {
			return // no media to end
		}
		c.log.Info("participant alone: ending its media session", "participant", m.Nick, "after", c.cfg.SingleParticipantTimeout)
		ctx.Send(m.pid, &participant.Terminate{Reason: xmpp.JingleReasonExpired, Text: "Idle session timeout"})
		c.dropEndpoint(ctx, m, true)
		c.withdrawSources(ctx, m.Nick)
	}
}
