package conference

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"focal/actors/participant"
	"focal/media/offer"
	"focal/media/sources"
	"focal/proto"
)

// replicate sends the conference's whole state to its replica, which takes
// the conference over if this node dies. Sent before the stanzas that make
// a change visible leave, on the same ordered link to the replica node.
// Nothing is sent before the focus is in the room: until then there is no
// session to resume and nothing a participant saw.
func (c *conference) replicate(ctx actor.Context) {
	if c.standby || c.replica == nil || c.ending || !c.everJoin {
		return
	}
	ctx.Send(c.replica, c.exportState(false))
}

// onBarrier answers a session's barrier once the participants have
// handled what reached them before it, and this conference what they sent
// it meanwhile (the participants' messages come before their answers, and
// barrierDone after those): by then every resulting state is on its way to
// the replica, ahead of the answer.
func (c *conference) onBarrier(ctx actor.Context, b *Barrier) {
	to := ctx.Sender()
	if to == nil {
		return
	}
	var futures []*actor.Future
	for _, m := range c.members {
		if m.pid != nil {
			futures = append(futures, ctx.RequestFuture(m.pid, &participant.Barrier{}, barrierTimeout))
		}
	}
	self, root := ctx.Self(), ctx.ActorSystem().Root
	afterAll(futures, func() { root.Send(self, barrierDone{reply: func() { root.Send(to, b) }}) })
}

func (c *conference) exportState(final bool) *focalpb.ConferenceState {
	c.version++
	st := &focalpb.ConferenceState{
		Room:      c.room,
		MeetingId: c.meetingID,
		Version:   c.version,
		Owner:     c.cfg.Node,
		Options: &focalpb.ConferenceOptions{
			Set:             c.haveOptions,
			RtcstatsEnabled: c.options.RTCStatsEnabled,
			StartAudioMuted: int32(c.options.StartAudioMuted),
			StartVideoMuted: int32(c.options.StartVideoMuted),
		},
		NextSeq:    int32(c.nextSeq),
		Session:    c.sessionID,
		Final:      final,
		SentUnixMs: time.Now().UnixMilli(),
	}
	for _, m := range c.membersInOrder() {
		ms := &focalpb.MemberState{
			Nick: m.nick, RealJid: m.realJID, Role: m.role, Affiliation: m.affiliation,
			Seq: int32(m.seq), StatsId: m.statsID, Region: m.region,
			Bridge: m.bridge, BridgeSession: m.bridgeSession, Allocated: m.allocated, NoMedia: m.noMedia,
			Jingle: &focalpb.JingleState{
				Sid: m.session.SID, State: m.session.State, Bridge: m.session.Bridge,
				BridgeSession: m.session.BridgeSession, Features: m.session.Features,
			},
		}
		if o := m.offer; o != nil {
			ms.Offer = &focalpb.OfferOptions{Audio: o.Audio, Video: o.Video, Sctp: o.SCTP, Tcc: o.TCC, Remb: o.REMB, Rtx: o.RTX, OpusRed: o.OpusRED}
		}
		ms.Sources, ms.SourceGroups = exportSources(c.sources.SourcesOf(m.nick))
		st.Members = append(st.Members, ms)
	}
	for _, jid := range c.bridgeOrder {
		bs := c.bridges[jid]
		b := &focalpb.BridgeSessionState{Jid: bs.jid, Id: bs.id, Region: bs.region}
		b.Feedback, b.FeedbackGroups = exportSources(bs.feedback)
		st.Bridges = append(st.Bridges, b)
	}
	return st
}

// importState rebuilds the conference from a replicated state: participant
// actors carrying on their Jingle sessions, colibri sessions resuming the
// bridge's conference, the source map. Every participant is unconfirmed
// until the room's occupant list says it is still there.
func (c *conference) importState(ctx actor.Context, st *focalpb.ConferenceState) {
	c.meetingID = st.MeetingId
	c.version = st.Version
	c.nextSeq = int(st.NextSeq)
	if o := st.Options; o != nil && o.Set {
		c.haveOptions = true
		c.options = Options{RTCStatsEnabled: o.RtcstatsEnabled, StartAudioMuted: int(o.StartAudioMuted), StartVideoMuted: int(o.StartVideoMuted)}
	}
	endpoints := map[string][]string{}
	for _, ms := range st.Members {
		m := &member{
			nick: ms.Nick, realJID: ms.RealJid, role: ms.Role, affiliation: ms.Affiliation,
			seq: int(ms.Seq), statsID: ms.StatsId, region: ms.Region,
			bridge: ms.Bridge, bridgeSession: ms.BridgeSession, allocated: ms.Allocated, noMedia: ms.NoMedia,
		}
		if o := ms.Offer; o != nil {
			m.offer = &offer.Options{Audio: o.Audio, Video: o.Video, SCTP: o.Sctp, TCC: o.Tcc, REMB: o.Remb, RTX: o.Rtx, OpusRED: o.OpusRed}
		}
		var restore *participant.Session
		if j := ms.Jingle; j != nil {
			m.session = participant.Session{SID: j.Sid, State: j.State, Bridge: j.Bridge, BridgeSession: j.BridgeSession, Features: j.Features}
			if m.offer != nil {
				s := m.session
				restore = &s
			}
		}
		if m.bridge != "" && !m.allocated {
			// An allocation was in flight: its answer went to the dead node.
			m.bridge, m.bridgeSession = "", ""
		}
		m.pid = c.spawnParticipant(ctx, m.nick, restore)
		c.members[m.nick] = m
		if set := importSources(ms.Sources, ms.SourceGroups); !set.Empty() {
			if _, err := c.sources.TryAdd(m.nick, set); err != nil {
				c.log.Warn("replicated sources refused", "participant", m.nick, "err", err)
			}
		}
		if m.bridge != "" {
			endpoints[m.bridge] = append(endpoints[m.bridge], m.nick)
		}
	}
	for _, b := range st.Bridges {
		bs := c.resumeBridgeSession(ctx, b.Jid, b.Id, b.Region, endpoints[b.Jid])
		bs.feedback = importSources(b.Feedback, b.FeedbackGroups)
	}
	for _, m := range c.members {
		if m.bridge != "" && c.bridges[m.bridge] == nil {
			m.bridge, m.bridgeSession, m.allocated = "", "", false
		}
	}
	c.log.Info("conference taken over", "from", st.Owner, "version", st.Version, "participants", len(c.members), "bridges", len(c.bridges))
}

func exportSources(set sources.Set) ([]*focalpb.Source, []*focalpb.SourceGroup) {
	var srcs []*focalpb.Source
	var groups []*focalpb.SourceGroup
	for _, s := range set.Sources {
		srcs = append(srcs, &focalpb.Source{Ssrc: s.SSRC, Media: string(s.Media), Name: s.Name, Msid: s.MSID, VideoType: s.VideoType})
	}
	for _, g := range set.Groups {
		groups = append(groups, &focalpb.SourceGroup{Semantics: g.Semantics, Media: string(g.Media), Ssrcs: append([]int64(nil), g.SSRCs...)})
	}
	return srcs, groups
}

func importSources(srcs []*focalpb.Source, groups []*focalpb.SourceGroup) sources.Set {
	var set sources.Set
	for _, s := range srcs {
		set.Sources = append(set.Sources, sources.Source{SSRC: s.Ssrc, Media: sources.Media(s.Media), Name: s.Name, MSID: s.Msid, VideoType: s.VideoType})
	}
	for _, g := range groups {
		set.Groups = append(set.Groups, sources.Group{Semantics: g.Semantics, Media: sources.Media(g.Media), SSRCs: append([]int64(nil), g.Ssrcs...)})
	}
	return set
}
