package conference

import (
	"slices"

	"focal/actors/participant"
	"focal/media/sources"
	"focal/proto"
)

// Source signalling is batched per participant, as Jicofo does
// (conference.source-signaling-delays): the others' source changes a
// participant is yet to be told of wait in its batch, and go as one
// source-remove and one source-add (in that order) when the batch is due:
// after the delay that the conference's size calls for, or at once when
// the participant accepts its session. A change undone within the batch
// cancels out: a source added and removed again is never signalled, one
// removed and added again neither. The offer of a new session carries
// every source there is, so inviting a participant empties its batch.
//
// The batches are conference state, replicated with the change that fills
// them: the change to the source map and every participant's share of it
// are in the same version, and a batch is emptied in the version that
// puts its stanzas in the outbox (outbox.go). So a batch pending when the
// owner is lost is sent by the next owner, once; one whose stanzas were
// decided is in the outbox instead.

// sourceBatch is one participant's pending source changes, by owner.
type sourceBatch struct {
	add, remove map[string]sources.Set
}

func (b *sourceBatch) empty() bool { return len(b.add) == 0 && len(b.remove) == 0 }

// record adds a change of owner's sources to the batch. An addition takes
// back a pending removal of the same source (or group) and a removal a
// pending addition; only the rest is new.
func (b *sourceBatch) record(owner string, remove bool, set sources.Set) {
	into, undo := &b.add, &b.remove
	if remove {
		into, undo = &b.remove, &b.add
	}
	fresh := set
	if pending, ok := (*undo)[owner]; ok {
		fresh = set.Minus(pending)
		putSet(undo, owner, pending.Minus(set))
	}
	if fresh.Empty() {
		return
	}
	if *into == nil {
		*into = map[string]sources.Set{}
	}
	putSet(into, owner, (*into)[owner].Union(fresh))
}

func putSet(m *map[string]sources.Set, owner string, set sources.Set) {
	if set.Empty() {
		delete(*m, owner)
		if len(*m) == 0 {
			*m = nil
		}
		return
	}
	(*m)[owner] = set
}

// export is the batch in the replicated state's shape, owners in order.
func (b *sourceBatch) export() (add, remove []*focalpb.EndpointSources) {
	return exportByOwner(b.add), exportByOwner(b.remove)
}

func exportByOwner(m map[string]sources.Set) []*focalpb.EndpointSources {
	owners := make([]string, 0, len(m))
	for o := range m {
		owners = append(owners, o)
	}
	slices.Sort(owners)
	var out []*focalpb.EndpointSources
	for _, o := range owners {
		srcs, groups := exportSources(m[o])
		out = append(out, &focalpb.EndpointSources{Endpoint: o, Sources: srcs, Groups: groups})
	}
	return out
}

func importByOwner(list []*focalpb.EndpointSources) map[string]sources.Set {
	if len(list) == 0 {
		return nil
	}
	m := make(map[string]sources.Set, len(list))
	for _, es := range list {
		m[es.Endpoint] = importSources(es.Sources, es.Groups)
	}
	return m
}

// signalTimeout: batches armed in generation gen are due.
type signalTimeout struct{ gen int }

// recordChange signals a change of owner's sources to every other
// participant that has been invited, through its batch; those not invited
// yet get the sources in their offer.
func (c *conference) recordChange(owner string, remove bool, set sources.Set) {
	for _, m := range c.members {
		if m.Nick == owner || !m.Allocated {
			continue
		}
		m.batch.record(owner, remove, set)
		m.PendingAdd, m.PendingRemove = m.batch.export()
		if c.accepted(m) {
			c.batchesDue = true
		}
	}
}

// clearBatch empties m's batch: its next offer carries every source.
func (c *conference) clearBatch(m *member) {
	m.batch = sourceBatch{}
	m.PendingAdd, m.PendingRemove = nil, nil
}

// accepted says whether m's session is the one it was last invited to,
// and accepted: its batch can go.
func (c *conference) accepted(m *member) bool {
	if m.InvitedSid == "" {
		// Invited by a node that did not name sessions: its reported
		// session is the one.
		return m.GetJingle().GetState() == focalpb.SessionState_SESSION_ACTIVE
	}
	return participant.SessionAccepted(m.GetJingle(), m.InvitedSid)
}

// scheduleBatches runs after every message: batches filled meanwhile go at
// once in a conference too small to wait, or when the delay is over; one
// timer serves the whole conference, armed by the first change after the
// last batches went.
func (c *conference) scheduleBatches() {
	if !c.batchesDue || c.standby || c.handedOver || c.ending {
		return
	}
	if c.batchT != nil {
		return // armed: these changes go with the others
	}
	delay := c.cfg.SourceSignalingDelays.For(len(c.members))
	if delay <= 0 {
		c.sendBatches()
		return
	}
	c.batchGen++
	c.batchT = c.after(delay, signalTimeout{gen: c.batchGen})
}

func (c *conference) onSignalTimeout(msg signalTimeout) {
	if msg.gen != c.batchGen || c.standby || c.handedOver {
		return
	}
	c.batchT = nil
	c.sendBatches()
}

// sendBatches sends the batch of every participant whose session is
// accepted; the others' wait for their acceptance.
func (c *conference) sendBatches() {
	c.batchesDue = false
	for _, m := range c.membersInOrder() {
		if !m.batch.empty() && c.accepted(m) {
			c.sendBatch(m)
		}
	}
}

// sendBatch queues m's batch, the removals first, and empties it.
func (c *conference) sendBatch(m *member) {
	b := m.batch
	c.clearBatch(m)
	room := c.roomOf(m)
	enc := participant.EncodingFor(room, m.GetJingle().GetFeatures(), c.cfg.JSONSources, c.cfg.StripSimulcast)
	for _, change := range []struct {
		remove bool
		set    map[string]sources.Set
	}{{true, b.remove}, {false, b.add}} {
		if len(change.set) == 0 {
			continue
		}
		iq, err := participant.SourceChange(room+"/"+m.Nick, m.GetJingle().GetSid(), change.remove, change.set, enc)
		if err != nil {
			c.log.Error("build the batched source change", "participant", m.Nick, "err", err)
			continue
		}
		c.queue(iq, focalpb.OutgoingKind_OUTGOING_REQUEST, m.Nick, "", nil)
	}
}

// roomOf is the room m is in: the main room, or its visitor room.
func (c *conference) roomOf(m *member) string {
	if m.Vnode != "" {
		if n, ok := c.cfg.Visitors.Node(m.Vnode); ok {
			return c.visitorRoomOf(n)
		}
	}
	return c.room
}
