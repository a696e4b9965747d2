package conference

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"focal/actors/bridge"
	"focal/xmpp"
)

// Bridge choice is one decision at a time per conference, as in Jicofo:
// each Select carries the conference's bridges as they stand, every
// earlier answer included. Two selections in flight at once would each see
// the bridges as they were before either answer, and a strategy such as
// single, which keeps a conference on its first bridge, could put two
// participants who joined together on two bridges that do not relay
// between them. Members that need a bridge meanwhile wait for the answer;
// who waits is derived from the members (needsBridge), never queued.

// selection is the one Select in flight: for which member, and which
// request (gen) it is, so that a late answer to an older one is ignored.
type selection struct {
	nick string
	gen  uint64
}

// selectTimeout ends the wait for the answer to the Select gen.
type selectTimeout struct{ gen uint64 }

// needsBridge says whether m is to be placed on a bridge: its features are
// known, it has no endpoint, and it is not kept out of media.
func (m *member) needsBridge() bool {
	return m.offer() != nil && m.Bridge == "" && !m.NoMedia
}

// selectBridges starts the next selection, for the first member in join
// order that needs a bridge, unless one is in flight or the last one
// found no bridge (then a bridge coming up, or a new participant, retries:
// retrySelection).
func (c *conference) selectBridges(ctx actor.Context) {
	if c.cfg.Bridges == nil || !c.joined || len(c.members) < c.cfg.MinParticipants {
		return // a join, a participant or a promotion calls this again
	}
	if c.selecting != nil || c.noBridge || !c.meetingIDSettled {
		return // an answer, a bridge coming up or the room's meeting id calls this again
	}
	for _, m := range c.membersInOrder() {
		if m.needsBridge() {
			c.requestBridge(ctx, m)
			return
		}
	}
}

// retrySelection selects again after a selection found no bridge.
func (c *conference) retrySelection(ctx actor.Context) {
	c.noBridge = false
	c.selectBridges(ctx)
}

// requestBridge asks the brewery for m's bridge. The answer comes back as
// a message to the conference (not a future's re-entry, which runs outside
// Receive: what it changed would reach the replica only with some later
// message), so the conference keeps serving meanwhile.
func (c *conference) requestBridge(ctx actor.Context, m *member) {
	c.selectGen++
	c.selecting = &selection{nick: m.Nick, gen: c.selectGen}
	ctx.Request(c.cfg.Bridges, &bridge.Select{ID: c.selectGen, Room: c.room, Region: m.Region, Bridges: c.conferenceBridges()})
	if c.selectT != nil {
		c.selectT.Stop()
	}
	c.selectT = c.after(c.cfg.RequestTimeout, selectTimeout{gen: c.selectGen})
}

// onSelected places the member the answer to the Select gen is for (if it
// still needs a bridge), or notes that no bridge can be had, and starts
// the next selection.
func (c *conference) onSelected(ctx actor.Context, gen uint64, res *bridge.Selected, err error) {
	if c.selecting == nil || c.selecting.gen != gen {
		return
	}
	nick := c.selecting.nick
	c.selecting = nil
	c.selectT.Stop()
	if err == nil {
		err = res.Err
	}
	m := c.members[nick]
	switch {
	case m == nil || !m.needsBridge():
		// It left, or ended its media, meanwhile.
	case err != nil:
		// Nobody else would get one either: wait for a bridge to come up.
		c.log.Warn("no bridge for participant", "participant", m.Nick, "err", err)
		c.noBridge, c.bridgeUnavailable = true, true
		return
	default:
		c.bridgeUnavailable = false
		c.place(ctx, m, res)
	}
	c.selectBridges(ctx)
}

// place gives m an endpoint on the bridge selected.
func (c *conference) place(ctx actor.Context, m *member, selected *bridge.Selected) {
	bs := c.bridgeSession(ctx, selected)
	bs.added = append(bs.added, time.Now())
	m.Bridge, m.BridgeSession, m.Allocated = bs.Jid, bs.Id, false
	offer := m.offer()
	fm := c.forceMute(m)
	m.ForceMutedAudio, m.ForceMutedVideo = fm.Audio, fm.Video
	var forceMute *xmpp.Colibri2ForceMute
	if fm.Audio || fm.Video {
		forceMute = &fm
	}
	c.tellBridge(bs.pid, m, &bridge.Allocate{
		Endpoint:  m.Nick,
		StatsID:   m.StatsId,
		Media:     colibriMedia(*offer),
		SCTP:      offer.SCTP,
		Sources:   c.sources.SourcesOf(m.Nick),
		Visitor:   m.Role == xmpp.RoleVisitor,
		ForceMute: forceMute,
	})
}
