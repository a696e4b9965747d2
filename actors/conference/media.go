package conference

import (
	"errors"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"focal/actors/bridge"
	"focal/actors/participant"
	"focal/media/offer"
	"focal/media/sources"
	"focal/xmpp"
)

// bridgeSession is the conference's colibri session on one bridge, as the
// conference sees it; the colibri session actor owns the wire side.
type bridgeSession struct {
	jid      string
	id       string // sent to clients as <bridge-session id/>
	region   string
	pid      *actor.PID
	feedback sources.Set // the bridge's own sources
	added    []time.Time // when endpoints were added, for load ramp-up
}

// selected is the brewery's answer to one invite's Select.
type selected struct {
	nick string
	gen  int
	res  *bridge.Selected
	err  error
}

// inviteAll invites every participant that has no endpoint yet, once the
// room has enough participants for media (Jicofo's min-participants).
func (c *conference) inviteAll(ctx actor.Context) {
	if c.cfg.Bridges == nil || !c.joined || len(c.members) < c.cfg.MinParticipants {
		return
	}
	for _, m := range c.membersInOrder() {
		if m.offer != nil && m.bridge == "" && !m.selecting && !m.noMedia {
			c.invite(ctx, m)
		}
	}
}

// invite asks the brewery for a bridge for m; the answer comes back as a
// selected message, so the conference keeps serving meanwhile.
func (c *conference) invite(ctx actor.Context, m *member) {
	if c.cfg.Bridges == nil || !c.joined || len(c.members) < c.cfg.MinParticipants {
		return // inviteAll picks m up when this changes
	}
	c.inviteGen++
	m.selecting, m.inviteGen = true, c.inviteGen
	req := &bridge.Select{Room: c.room, Region: m.region, Bridges: c.conferenceBridges()}
	f := ctx.RequestFuture(c.cfg.Bridges, req, c.cfg.RequestTimeout)
	nick, gen := m.nick, m.inviteGen
	ctx.ReenterAfter(f, func(res any, err error) {
		sel, _ := res.(*bridge.Selected)
		c.onSelected(ctx, selected{nick: nick, gen: gen, res: sel, err: err})
	})
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
		if m.bridge == jid {
			n++
		}
	}
	return n
}

func (c *conference) onSelected(ctx actor.Context, s selected) {
	m := c.members[s.nick]
	if m == nil || m.inviteGen != s.gen || !m.selecting {
		return
	}
	m.selecting = false
	err := s.err
	if err == nil && s.res == nil {
		err = errors.New("no answer from the brewery")
	}
	if err == nil {
		err = s.res.Err
	}
	if err != nil {
		// It waits for a bridge to come up (bridge.Up).
		c.log.Warn("no bridge for participant", "participant", m.nick, "err", err)
		return
	}
	bs := c.bridgeSession(ctx, s.res.Bridge, s.res.Region)
	bs.added = append(bs.added, time.Now())
	m.bridge, m.bridgeSession, m.allocated = bs.jid, bs.id, false
	ctx.Send(bs.pid, &bridge.Allocate{
		Endpoint: m.nick,
		StatsID:  m.statsID,
		Media:    colibriMedia(*m.offer),
		SCTP:     m.offer.SCTP,
		Sources:  c.sources.SourcesOf(m.nick),
		Visitor:  m.role == xmpp.RoleVisitor,
	})
}

// bridgeSession returns the conference's session on jid, starting one if
// there is none.
func (c *conference) bridgeSession(ctx actor.Context, jid, region string) *bridgeSession {
	if bs := c.bridges[jid]; bs != nil {
		return bs
	}
	return c.startBridgeSession(ctx, jid, xmpp.NewID(), region, false, nil)
}

// resumeBridgeSession carries on a session another node started.
func (c *conference) resumeBridgeSession(ctx actor.Context, jid, id, region string, endpoints []string) *bridgeSession {
	return c.startBridgeSession(ctx, jid, id, region, true, endpoints)
}

func (c *conference) startBridgeSession(ctx actor.Context, jid, id, region string, resume bool, endpoints []string) *bridgeSession {
	props := bridge.NewColibriSession(bridge.ColibriConfig{
		Bridge:           jid,
		MeetingID:        c.meetingID,
		Room:             c.room,
		RTCStatsDisabled: c.haveOptions && !c.options.RTCStatsEnabled,
		Timeout:          c.cfg.RequestTimeout,
		Wire:             c.bridgeWire,
		Logger:           c.log,
		Resume:           resume,
		Endpoints:        endpoints,
	}, id)
	bs := &bridgeSession{jid: jid, id: id, region: region, pid: ctx.Spawn(props)}
	c.bridges[jid] = bs
	c.bridgeOrder = append(c.bridgeOrder, jid)
	c.log.Info("bridge session started", "bridge", jid, "bridge_session", id, "resumed", resume)
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
	c.bridgeWire.Request(bridge.ExpireConferenceIQ(jid, c.meetingID), c.cfg.RequestTimeout, func(*xmpp.Element, error) {})
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
	if bs == nil || bs.id != a.Session || m == nil || m.bridgeSession != a.Session {
		return // the participant left or moved meanwhile; its expire is on its way
	}
	if !a.Feedback.Empty() {
		bs.feedback = a.Feedback
	}
	m.allocated = true
	c.log.Info("endpoint allocated", "participant", m.nick, "bridge", a.Bridge)
	ctx.Send(m.pid, &participant.Invite{
		Initiator:       c.focusAddr,
		Bridge:          a.Bridge,
		BridgeSession:   a.Session,
		Region:          bs.region,
		Transport:       a.Transport,
		SCTPPort:        a.SCTPPort,
		Sources:         c.remoteSources(m.nick, bs),
		StartAudioMuted: c.options.StartAudioMuted >= 0 && m.seq > c.options.StartAudioMuted,
		StartVideoMuted: c.options.StartVideoMuted >= 0 && m.seq > c.options.StartVideoMuted,
	})
}

// remoteSources is what nick is told about in its offer: everybody else's
// sources and the bridge's feedback sources.
func (c *conference) remoteSources(nick string, bs *bridgeSession) map[string]sources.Set {
	out := c.sources.Except(nick)
	if !bs.feedback.Empty() {
		out[sources.OwnerBridge] = bs.feedback.Clone()
	}
	return out
}

func (c *conference) onColibriFailed(ctx actor.Context, f *bridge.ColibriFailed) {
	bs := c.bridges[f.Bridge]
	if bs == nil || bs.id != f.Session {
		return
	}
	if f.MarkFailed && c.cfg.Bridges != nil {
		ctx.Send(c.cfg.Bridges, &bridge.Failed{Bridge: f.Bridge})
	}
	switch f.Scope {
	case bridge.ScopeSession:
		c.removeBridge(ctx, f.Bridge, "colibri: "+f.Err.Error())
	case bridge.ScopeEndpoint:
		if m := c.members[f.Endpoint]; m != nil && m.bridgeSession == f.Session {
			c.move(ctx, m, "endpoint lost: "+f.Err.Error(), false)
		}
	case bridge.ScopeRequest:
		if m := c.members[f.Endpoint]; m != nil && m.bridgeSession == f.Session && !m.allocated {
			// The bridge refused this participant's allocation as invalid:
			// asking again would get the same answer.
			c.log.Error("participant cannot be allocated", "participant", m.nick, "err", f.Err)
			m.bridge, m.bridgeSession, m.noMedia = "", "", true
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
		if m.bridge == jid {
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
	c.log.Info("re-inviting participant", "participant", m.nick, "reason", reason)
	c.dropEndpoint(ctx, m, expire)
	c.withdrawSources(ctx, m.nick)
	c.invite(ctx, m)
}

// dropEndpoint forgets m's endpoint (expiring it on the bridge if asked),
// and ends the bridge session when nobody is left on it.
func (c *conference) dropEndpoint(ctx actor.Context, m *member, expire bool) {
	jid := m.bridge
	m.bridge, m.bridgeSession, m.allocated, m.selecting = "", "", false, false
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
		ctx.Send(bs.pid, &bridge.ExpireEndpoint{Endpoint: m.nick})
	}
}

func (c *conference) onBridgeDown(ctx actor.Context, d *bridge.Down) {
	if c.bridges[d.Bridge] != nil {
		c.removeBridge(ctx, d.Bridge, d.Reason)
	}
}
