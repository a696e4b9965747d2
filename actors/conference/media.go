package conference

import (
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"focal/actors/bridge"
	"focal/actors/participant"
	"focal/media/offer"
	"focal/media/sources"
	"focal/proto"
	"focal/xmpp"
	"focal/xmpp/session"
)

// bridgeSession is the conference's colibri session on one bridge, as the
// conference sees it; the colibri session actor owns the wire side. Its
// embedded BridgeSessionState (bridge, session id sent to clients as
// <bridge-session id/>, region, the bridge's feedback sources) is what the
// replica keeps.
type bridgeSession struct {
	*focalpb.BridgeSessionState
	pid   *actor.PID
	added []time.Time // when endpoints were added, for load ramp-up
}

func (c *conference) conferenceBridges() []bridge.ConferenceBridge {
	out := make([]bridge.ConferenceBridge, 0, len(c.bridgeOrder))
	for _, jid := range c.bridgeOrder {
		bs := c.bridges[jid]
		out = append(out, bridge.ConferenceBridge{JID: jid, Participants: c.endpointsOn(jid), Added: slices.Clone(bs.added)})
	}
	return out
}

func (c *conference) endpointsOn(jid string) int {
	n := 0
	for _, m := range c.members {
		if m.Bridge == jid {
			n++
		}
	}
	return n
}

// bridgeSession returns the conference's session on jid, starting one if
// there is none.
func (c *conference) bridgeSession(ctx actor.Context, sel *bridge.Selected) *bridgeSession {
	if bs := c.bridges[sel.Bridge]; bs != nil {
		return bs
	}
	return c.startBridgeSession(ctx, &focalpb.BridgeSessionState{Jid: sel.Bridge, Address: sel.Address, Id: xmpp.NewID(), Region: sel.Region}, false, nil)
}

// startBridgeSession starts the colibri session st describes: a new one,
// or (resume) one another node started, with endpoints on it already.
func (c *conference) startBridgeSession(ctx actor.Context, st *focalpb.BridgeSessionState, resume bool, endpoints []string) *bridgeSession {
	props := bridge.NewColibriSession(bridge.ColibriConfig{
		Bridge:           st.Jid,
		Address:          st.Address,
		MeetingID:        c.st.MeetingId,
		Room:             c.room,
		RTCStatsDisabled: !c.options().RtcstatsEnabled,
		Timeout:          c.cfg.RequestTimeout,
		Wire:             c.colibriWire(st),
		Logger:           c.log,
		Resume:           resume,
		Endpoints:        endpoints,
	}, st.Id)
	bs := &bridgeSession{BridgeSessionState: st, pid: ctx.Spawn(props)}
	c.bridges[st.Jid] = bs
	c.bridgeOrder = append(c.bridgeOrder, st.Jid)
	c.log.Info("bridge session started", "bridge", st.Jid, "bridge_session", st.Id, "resumed", resume)
	return bs
}

// expireBridges ends the conference on every bridge it uses.
func (c *conference) expireBridges() {
	for _, jid := range c.bridgeOrder {
		c.expireOn(jid)
	}
}

func (c *conference) expireOn(jid string) {
	c.log.Info("expiring conference on the bridge", "bridge", jid)
	to, wire := jid, c.bridgeWire
	if bs := c.bridges[jid]; bs != nil && bs.Address != "" {
		to, wire = bs.Address, c.wire
	}
	wire.Request(bridge.ExpireConferenceIQ(to, c.st.MeetingId), c.cfg.RequestTimeout, func(*xmpp.Element, error) {})
}

// colibriWire is the session Colibri2 for the bridge st names leaves on:
// the room's own, the shard session, when the bridge's address is known,
// so that only the session's holder reaches the bridge; else the node's,
// which sits in the brewery (bridge.ColibriConfig).
func (c *conference) colibriWire(st *focalpb.BridgeSessionState) session.Wire {
	if st.Address != "" {
		return c.wire
	}
	return c.bridgeWire
}

// rewireBridges moves the colibri sessions that use the room's session
// onto its new one.
func (c *conference) rewireBridges(ctx actor.Context) {
	for _, jid := range c.bridgeOrder {
		if bs := c.bridges[jid]; bs != nil && bs.Address != "" {
			ctx.Send(bs.pid, &bridge.UseWire{Wire: c.wire})
		}
	}
}

// colibriMedia describes the offer's audio and video to the bridge.
func colibriMedia(o offer.Options) []xmpp.Colibri2Media {
	var out []xmpp.Colibri2Media
	contents := offer.Contents(o)
	for i := range contents {
		if m, ok := xmpp.Colibri2MediaFromJingle(&contents[i]); ok {
			out = append(out, m)
		}
	}
	return out
}

func (c *conference) onAllocated(ctx actor.Context, a *bridge.Allocated) {
	bs := c.bridges[a.Bridge]
	m := c.members[a.Endpoint]
	if bs == nil || bs.Id != a.Session || m == nil || m.BridgeSession != a.Session {
		return // the participant left or moved meanwhile; its expire is on its way
	}
	if !a.Feedback.Empty() {
		bs.Feedback, bs.FeedbackGroups = exportSources(a.Feedback)
	}
	m.Allocated = true
	c.log.Info("endpoint allocated", "participant", m.Nick, "bridge", a.Bridge)
	// The offer carries every source there is; changes from now on wait
	// in the batch for the session, which the conference names.
	c.clearBatch(m)
	m.InvitedSid = xmpp.NewID()
	ctx.Send(m.pid, &participant.Invite{
		SID:             m.InvitedSid,
		Initiator:       c.focusAddr,
		Bridge:          a.Bridge,
		BridgeSession:   a.Session,
		Region:          bs.Region,
		Transport:       a.Transport,
		SCTPPort:        a.SCTPPort,
		Sources:         c.remoteSources(m.Nick, bs),
		StartAudioMuted: startMuted(c.options().StartAudioMuted, m.Seq) || c.st.GetMetadata().GetStartAudioMuted() || m.ForceMutedAudio,
		StartVideoMuted: startMuted(c.options().StartVideoMuted, m.Seq) || c.st.GetMetadata().GetStartVideoMuted() || m.ForceMutedVideo,
	})
}

// remoteSources is what nick is told about in its offer: everybody else's
// sources and the bridge's feedback sources.
func (c *conference) remoteSources(nick string, bs *bridgeSession) map[string]sources.Set {
	out := c.sources.Except(nick)
	if feedback := importSources(bs.Feedback, bs.FeedbackGroups); !feedback.Empty() {
		out[sources.OwnerBridge] = feedback
	}
	return out
}

func (c *conference) onColibriFailed(ctx actor.Context, f *bridge.ColibriFailed) {
	bs := c.bridges[f.Bridge]
	if bs == nil || bs.Id != f.Session {
		return
	}
	if f.MarkFailed && c.cfg.Bridges != nil {
		ctx.Send(c.cfg.Bridges, &bridge.Failed{Bridge: f.Bridge})
	}
	switch f.Scope {
	case bridge.ScopeSession:
		c.removeBridge(ctx, f.Bridge, "colibri: "+f.Err.Error())
	case bridge.ScopeEndpoint:
		if m := c.members[f.Endpoint]; m != nil && m.BridgeSession == f.Session {
			c.move(ctx, m, "endpoint lost: "+f.Err.Error(), false)
		}
	case bridge.ScopeRequest:
		if m := c.members[f.Endpoint]; m != nil && m.BridgeSession == f.Session && !m.Allocated {
			// The bridge refused this participant's allocation as invalid:
			// asking again would get the same answer.
			c.log.Error("participant cannot be allocated", "participant", m.Nick, "err", f.Err)
			m.Bridge, m.BridgeSession, m.NoMedia = "", "", true
		}
	}
}

// removeBridge drops the conference's session on jid and moves everybody
// who was on it to another bridge.
func (c *conference) removeBridge(ctx actor.Context, jid, reason string) {
	bs := c.bridges[jid]
	if bs == nil {
		return
	}
	c.log.Warn("leaving bridge", "bridge", jid, "reason", reason)
	c.stopBridgeSession(ctx, jid)
	for _, m := range c.membersInOrder() {
		if m.Bridge == jid {
			c.move(ctx, m, "bridge "+jid+": "+reason, false)
		}
	}
}

func (c *conference) stopBridgeSession(ctx actor.Context, jid string) {
	bs := c.bridges[jid]
	if bs == nil {
		return
	}
	delete(c.bridges, jid)
	c.bridgeOrder = slices.DeleteFunc(c.bridgeOrder, func(s string) bool { return s == jid })
	ctx.Stop(bs.pid)
}

// move gives m a new endpoint, on whatever bridge the brewery picks now, and
// a new Jingle session: its sources are withdrawn from the others until it
// accepts the new session (Jicofo's RestartJingle re-invite).
func (c *conference) move(ctx actor.Context, m *member, reason string, expire bool) {
	c.log.Info("re-inviting participant", "participant", m.Nick, "reason", reason)
	c.dropEndpoint(ctx, m, expire)
	c.withdrawSources(ctx, m.Nick)
	c.selectBridges(ctx)
}

// dropEndpoint forgets m's endpoint (expiring it on the bridge if asked),
// and ends the bridge session when nobody is left on it.
func (c *conference) dropEndpoint(ctx actor.Context, m *member, expire bool) {
	jid := m.Bridge
	m.Bridge, m.BridgeSession, m.Allocated = "", "", false
	// Without an endpoint there is nothing to tell: the next offer
	// carries every source.
	c.clearBatch(m)
	bs := c.bridges[jid]
	if bs == nil {
		return
	}
	if c.endpointsOn(jid) == 0 {
		c.stopBridgeSession(ctx, jid)
		c.expireOn(jid)
		return
	}
	if expire {
		c.tellBridge(bs.pid, m, &bridge.ExpireEndpoint{Endpoint: m.Nick})
	}
}

func (c *conference) onBridgeDown(ctx actor.Context, d *bridge.Down) {
	if c.bridges[d.Bridge] != nil {
		c.removeBridge(ctx, d.Bridge, d.Reason)
	}
}
