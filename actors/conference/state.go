package conference

import (
	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"focal/media/sources"
	"focal/proto"
	"focal/xmpp/caps"
)

// The replicated state has one definition, focalpb.ConferenceState. The
// conference keeps its own fields in it (c.st), each member's in the
// MemberState the member embeds and each bridge session's in its
// BridgeSessionState; the sources stay in the source map, whose indexes
// validation needs. replicatedState puts these together, the replica
// imports them back, and the debug snapshot is read off them, so none of
// the three lists fields of its own.

// stateView puts the live state together in one message. It shares the
// members' and bridge sessions' messages with the conference: it is for
// reading at once (encoding, the debug view), never to be sent or kept.
func (c *conference) stateView() *focalpb.ConferenceState {
	st := proto.Clone(c.st).(*focalpb.ConferenceState)
	for _, m := range c.membersInOrder() {
		st.Members = append(st.Members, m.MemberState)
	}
	for _, jid := range c.bridgeOrder {
		st.Bridges = append(st.Bridges, c.bridges[jid].BridgeSessionState)
	}
	st.Sources = c.sourcesState()
	return st
}

// sourcesState is the source map in the replicated state's shape. It is
// encoded again only when the map changed (its revision): the map is most
// of a large conference's state, and the state is derived after every
// message. The list is replaced, never changed, so views may share it.
func (c *conference) sourcesState() []*focalpb.EndpointSources {
	if c.sourcesCache.valid && c.sourcesCache.revision == c.sources.Revision() {
		return c.sourcesCache.list
	}
	var list []*focalpb.EndpointSources
	for _, owner := range c.sources.Owners() {
		srcs, groups := exportSources(c.sources.SourcesOf(owner))
		list = append(list, &focalpb.EndpointSources{Endpoint: owner, Sources: srcs, Groups: groups})
	}
	c.sourcesCache.revision, c.sourcesCache.list, c.sourcesCache.valid = c.sources.Revision(), list, true
	return list
}

// replicatedState is the state a replica keeps, a copy of the live one
// without the envelope (version, owner, time), which goes on when it is
// sent.
func (c *conference) replicatedState() *focalpb.ConferenceState {
	return proto.Clone(c.stateView()).(*focalpb.ConferenceState)
}

// importState rebuilds the conference from a replicated state: participant
// actors carrying on their Jingle sessions, colibri sessions resuming the
// bridge's conference, the source map. Every participant is unconfirmed
// until the room's occupant list says it is still there.
func (c *conference) importState(ctx actor.Context, from *focalpb.ConferenceState) {
	st := proto.Clone(from).(*focalpb.ConferenceState)
	members, bridges, sources := st.Members, st.Bridges, st.Sources
	st.Members, st.Bridges, st.Sources = nil, nil, nil
	st.Version, st.Owner, st.Final, st.Ended, st.SentUnixMs = 0, "", false, false, 0
	c.st, c.version = st, from.Version
	endpoints := map[string][]string{}
	for _, ms := range members {
		if ms.Bridge != "" && !ms.Allocated {
			// An allocation was in flight: its answer went to the old owner.
			ms.Bridge, ms.BridgeSession = "", ""
		}
		m := &member{MemberState: ms, batch: sourceBatch{add: importByOwner(ms.PendingAdd), remove: importByOwner(ms.PendingRemove)}}
		if !m.batch.empty() {
			// Pending at the previous owner: this one sends it.
			c.batchesDue = true
		}
		var restore *focalpb.JingleState
		if m.offer() != nil {
			restore = ms.Jingle
		}
		m.pid = c.spawnMember(ctx, m, restore, caps.Caps{})
		c.members[ms.Nick] = m
		if ms.Bridge != "" {
			endpoints[ms.Bridge] = append(endpoints[ms.Bridge], ms.Nick)
		}
	}
	for _, es := range sources {
		if _, err := c.sources.TryAdd(es.Endpoint, importSources(es.Sources, es.Groups)); err != nil {
			c.log.Warn("replicated sources refused", "participant", es.Endpoint, "err", err)
		}
	}
	for _, b := range bridges {
		c.startBridgeSession(ctx, b, true, endpoints[b.Jid])
	}
	for _, m := range c.members {
		if m.Bridge != "" && c.bridges[m.Bridge] == nil {
			m.Bridge, m.BridgeSession, m.Allocated = "", "", false
			c.clearBatch(m)
		}
	}
	c.log.Info("conference taken over", "from", from.Owner, "version", from.Version, "participants", len(c.members), "bridges", len(c.bridges))
}

// exportSources and importSources encode a source set in the replicated
// state.
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
