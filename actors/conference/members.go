package conference

import (
	"slices"
	"strings"

	"github.com/asynkron/protoactor-go/actor"

	"focal/actors/participant"
	"focal/media/offer"
	"focal/proto"
	"focal/xmpp"
	"focal/xmpp/caps"
)

// member is one occupant of the room. Its embedded MemberState is the
// part the replica keeps (presence, join order, endpoint, and the Jingle
// state its participant actor reported); the rest is this node's.
type member struct {
	*focalpb.MemberState
	pid       *actor.PID
	confirmed bool // in the occupant list since the focus last joined
	// batch is the others' source changes the participant is yet to be
	// told of (batch.go); PendingAdd and PendingRemove are its replicated
	// form.
	batch sourceBatch
}

// offer is what to offer the participant, nil until its features are
// known.
func (m *member) offer() *offer.Options {
	return offer.For(m.GetJingle().GetFeatures())
}

// spawnParticipant starts the actor of a participant, carrying on restore
// when another node started its session; announced is the capabilities
// its presence announced.
func (c *conference) spawnParticipant(ctx actor.Context, nick string, restore *focalpb.JingleState, announced caps.Caps) *actor.PID {
	return c.spawnIn(ctx, c.room, nick, false, restore, announced)
}

// spawnMember starts the actor of m, in its visitor room if it is a
// visitor.
func (c *conference) spawnMember(ctx actor.Context, m *member, restore *focalpb.JingleState, announced caps.Caps) *actor.PID {
	room := c.roomOf(m)
	return c.spawnIn(ctx, room, m.Nick, room != c.room, restore, announced)
}

func (c *conference) spawnIn(ctx actor.Context, room, nick string, visitor bool, restore *focalpb.JingleState, announced caps.Caps) *actor.PID {
	return ctx.Spawn(participant.Props(participant.Config{
		Caps:           announced,
		CapsCache:      c.cfg.Caps,
		Room:           room,
		Visitor:        visitor,
		Nick:           nick,
		JSONSources:    c.cfg.JSONSources,
		StripSimulcast: c.cfg.StripSimulcast,
		ICERestart:     c.cfg.ICERestart,
		Logger:         c.log,
		Restore:        restore,
	}))
}

func (c *conference) onPresence(ctx actor.Context, p xmpp.OccupantPresence) {
	if p.Room != c.room {
		if n, ok := c.nodeOfRoom(p.Room); ok {
			c.onVisitorRoomPresence(ctx, n, p)
		}
		return
	}
	if p.Nick == c.cfg.Nick {
		if p.Self || p.Error != nil {
			c.onSelfPresence(ctx, p)
		}
		// Otherwise another session of the focus shares the nick.
		return
	}
	if p.Error != nil || c.standby {
		return
	}
	if p.Unavailable {
		if switchingRoom(p) {
			c.removeMember(ctx, p.Nick, "moved to another room")
		} else {
			c.removeMember(ctx, p.Nick, "left")
		}
		return
	}
	m := c.members[p.Nick]
	if m != nil && m.Vnode != "" {
		c.log.Warn("main room nick taken by a visitor; ignored", "participant", p.Nick)
		return
	}
	if m == nil {
		c.st.NextSeq++
		m = &member{MemberState: &focalpb.MemberState{Nick: p.Nick, Seq: c.st.NextSeq}}
		announced, _ := caps.Of(p.Stanza)
		m.pid = c.spawnParticipant(ctx, p.Nick, nil, announced)
		c.members[p.Nick] = m
		c.log.Info("participant joined", "participant", p.Nick, "jid", p.RealJID, "participants", len(c.members))
		c.idleGen++ // somebody came: the conference is not idle any more
		c.checkAlone()
	}
	if p.Role != m.Role || p.Affiliation != m.Affiliation {
		c.log.Info("participant role", "participant", m.Nick, "role", p.Role, "affiliation", p.Affiliation)
	}
	m.RealJid, m.Role, m.Affiliation, m.confirmed = p.RealJID, p.Role, p.Affiliation, true
	// Jitsi clients announce these as un-namespaced presence children.
	if el := p.Stanza.Child("", "stats-id"); el != nil {
		m.StatsId = el.Text
	}
	if el := p.Stanza.Child("", "jitsi_participant_region"); el != nil {
		m.Region = el.Text
	}
	if c.ownerPending == m.Nick && m.Affiliation == xmpp.AffiliationOwner {
		c.ownerPending = ""
	}
	c.electOwner(ctx)
}

func (c *conference) removeMember(ctx actor.Context, nick, why string) {
	m := c.members[nick]
	if m == nil {
		return
	}
	c.forget(ctx, m)
	c.log.Info("participant "+why, "participant", nick, "participants", len(c.members))
	if c.ownerPending == nick {
		c.ownerPending = ""
	}
	c.checkAlone()
	if len(c.members) == 0 {
		if why == "moved to another room" {
			// To a breakout room, from where participants come back: the
			// time a newcomer would have (Jicofo does the same).
			c.armIdleTimeout(c.cfg.InitialTimeout)
			return
		}
		// Not at once: a server shutting down disconnects every participant
		// just before the focus's own stream, and that conference should
		// carry on once the server is back.
		c.everEmptied = true
		c.armIdleTimeout(c.cfg.EmptyTimeout)
		return
	}
	c.electOwner(ctx)
}

// dropUnconfirmed forgets occupants that did not show up in the occupant
// list of a re-join: they left while the focus was out of the room.
func (c *conference) dropUnconfirmed(ctx actor.Context) {
	for nick, m := range c.members {
		// Visitors are not in the main room; their room does not list
		// them to the focus either (only their joins and leaves reach it).
		if !m.confirmed && m.Vnode == "" {
			c.forget(ctx, m)
			c.log.Info("participant gone during reconnect", "participant", nick)
		}
	}
	c.checkAlone()
	if len(c.members) == 0 {
		// Give clients the initial timeout to come back (after a server
		// restart they all reconnect) before ending the conference.
		c.armIdleTimeout(c.cfg.InitialTimeout)
		return
	}
	c.electOwner(ctx)
}

// electOwner makes sure the room has an owner besides the focus: if none of
// the participants is one, the one who joined first is granted owner.
func (c *conference) electOwner(ctx actor.Context) {
	if !c.joined || c.ownerPending != "" || c.isBreakout() {
		return
	}
	if c.cfg.Auth.Enabled() {
		c.grantAuthenticated(ctx)
		return
	}
	if !c.cfg.AutoOwner {
		return
	}
	var first *member
	for _, m := range c.members {
		if m.Affiliation == xmpp.AffiliationOwner {
			return
		}
		if m.Role == xmpp.RoleVisitor || m.RealJid == "" {
			continue
		}
		if first == nil || m.Seq < first.Seq {
			first = m
		}
	}
	if first == nil {
		return
	}
	c.grantOwner(first)
}

// grantOwner makes m an owner of the room.
func (c *conference) grantOwner(m *member) {
	c.ownerPending = m.Nick
	nick := m.Nick
	self, root := c.self, c.root
	c.log.Info("granting owner", "participant", nick)
	c.wire.Request(xmpp.SetAffiliationIQ(c.room, bareOf(m.RealJid), xmpp.AffiliationOwner), c.cfg.RequestTimeout,
		func(_ *xmpp.Element, err error) { root.Send(self, ownerGranted{nick: nick, err: err}) })
}

func (c *conference) onOwnerGranted(ctx actor.Context, msg ownerGranted) {
	if msg.err == nil {
		return // the presence update with the new affiliation follows
	}
	c.log.Warn("granting owner failed", "participant", msg.nick, "err", msg.err)
	if c.ownerPending == msg.nick {
		c.ownerPending = ""
	}
}

// forget removes a participant: its actor, its endpoint and its sources.
func (c *conference) forget(ctx actor.Context, m *member) {
	delete(c.members, m.Nick)
	ctx.Stop(m.pid)
	c.dropEndpoint(ctx, m, true)
	c.withdrawSources(ctx, m.Nick)
}

// membersInOrder returns the participants in join order.
func (c *conference) membersInOrder() []*member {
	out := make([]*member, 0, len(c.members))
	for _, m := range c.members {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b *member) int { return int(a.Seq - b.Seq) })
	return out
}

// isBreakout says whether the room is a breakout room: on another MUC
// service than the main rooms'.
func (c *conference) isBreakout() bool {
	if c.cfg.MUCDomain == "" {
		return false
	}
	_, domain, _ := strings.Cut(c.room, "@")
	return !strings.EqualFold(domain, c.cfg.MUCDomain)
}

// switchingRoom says whether an occupant leaves to join another room of
// the meeting (a breakout room, or back to the main room): Jitsi Meet
// says so with the status "switch_room".
func switchingRoom(p xmpp.OccupantPresence) bool {
	if p.Stanza == nil {
		return false
	}
	s := p.Stanza.Child("", "status")
	return s != nil && strings.TrimSpace(s.Text) == "switch_room"
}
