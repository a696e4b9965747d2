package directory

import (
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"focal/actors/conference"
	"focal/cluster"
	"focal/proto"
	"focal/xmpp/session"
)

// Taking a shard over, the directory's side: the resumption states other
// nodes send (kept by session, stale ones dropped), and the promotion of
// standby conferences onto the session that is their room's focus
// occupant, resumed here if need be.

// promoteOn makes the standby of room drive it on l.
func (d *directory) promoteOn(ctx actor.Context, room string, l *link, seated bool) {
	r := d.rooms[room]
	if r == nil || !r.standby {
		return
	}
	d.log.Info("promoting standby conference", "room", room, "owner", r.owner, "session", l.id, "seated", seated)
	d.setStandbySession(room, "")
	r.standby, r.owner = false, ""
	l.rooms[room] = r.pid.Id
	d.roomLink[room] = l.id
	ctx.Send(r.pid, &conference.Promote{Wire: l.s, Addr: l.addr, Session: l.session, Up: l.up, Seated: seated})
	now := time.Now()
	ranked := d.ranked(room)
	if len(ranked) > 0 && ranked[0].Name == d.self {
		d.setReplica(ctx, r, ranked)
		return
	}
	// Driven here without being its owner (it was let go, or its owner is
	// out of reach): replicated to the first member in contact, which is
	// its session's successor too (setSuccessor).
	for _, m := range ranked {
		if m.Name != d.self && d.inContact(m.Name, now) {
			d.setReplicaTo(ctx, r, m)
			return
		}
	}
}

// takeOver drives a standby conference from now on: on the session that
// is its focus occupant, resumed if this node does not hold it yet, or, if
// that cannot be resumed, on a new session that joins the room.
func (d *directory) takeOver(ctx actor.Context, room string) {
	var id string
	if r := d.rooms[room]; r != nil {
		id = r.session
	}
	if l := d.heldLink(id); l != nil {
		if l.up {
			d.promoteOn(ctx, room, l, true)
		} else {
			l.waiting = append(l.waiting, room)
		}
		return
	}
	if d.releasing(id) {
		// This node is handing the session on right now: its next holder
		// drives the room, with the state the release ends on; any state
		// kept here from before is older than that.
		d.log.Info("not taking over a session this node is releasing", "room", room, "session", id)
		return
	}
	if st := d.smStates[id]; st != nil && id != "" && st.H < d.highH[id] {
		// Older than what this node has seen of the session since (it
		// held the session itself, say, and handed it on): resuming with
		// it would acknowledge less than the server was given, which ends
		// the session. Whoever holds it now drives the room.
		d.log.Warn("not taking over with a stale session state", "room", room, "session", id, "h", st.H, "seen", d.highH[id])
		delete(d.smStates, id)
		return
	}
	if st := d.smStates[id]; st != nil && id != "" {
		if rooms, asking := d.asking[id]; asking {
			d.asking[id] = append(rooms, room)
			return
		}
		holder, known := d.known[st.Owner]
		if st.Final || !known || holder.Name == d.self || d.exited(holder.Name) {
			d.resume(st, []string{room})
			return
		}
		// Its holder is gone from this node's view, or silent, but (unless
		// its process is proven gone) views disagree for a while after a
		// partition heals: resuming a session its holder still drives,
		// having acknowledged more to the server than this node knows,
		// would destroy it. Ask first.
		d.asking[id] = []string{room}
		d.askHolder(ctx, id, holder)
		return
	}
	d.log.Warn("no session to resume: joining afresh", "room", room, "session", id)
	l := d.sessionFor(room)
	if l.up {
		d.promoteOn(ctx, room, l, false)
	} else {
		l.waiting = append(l.waiting, room)
	}
}

// sessionQueryTimeout bounds one wait for a session's holder to say
// whether it still holds it. No answer does not mean it let go: a loaded
// or paused holder does not answer either. The holder is asked again until it
// answers, or is gone from the membership, or has been silent for longer
// than memberlist's failure timeout (see silent) — by when, if cut off, it
// has let its conferences go.
const sessionQueryTimeout = 500 * time.Millisecond

func (d *directory) askHolder(ctx actor.Context, id string, holder cluster.Member) {
	f := ctx.RequestFuture(directoryOf(holder), &focalpb.SessionQuery{Id: id}, sessionQueryTimeout)
	ctx.ReenterAfter(f, func(res any, err error) {
		if _, alive := d.member(holder.Name); err != nil && alive && !d.silent(holder.Name, time.Now()) && !d.fenced {
			if _, waiting := d.asking[id]; waiting {
				d.log.Info("the session's holder has not answered yet; asking again", "session", id, "node", holder.Name, "err", err)
				d.askHolder(ctx, id, holder)
			}
			return
		}
		if err != nil {
			// Silent here, or gone from this node's view: but a partition
			// that cuts it off from this node alone leaves it a majority
			// through the others.
			d.askWitnesses(ctx, id, holder)
			return
		}
		d.onSessionAnswer(id, res)
	})
}

// askWitnesses asks the other members whether they have heard from the
// session's holder lately, and resumes the session only if the holder
// cannot have quorum through them: each one that has, or does not answer,
// may count towards the holder's majority. Otherwise the holder
// may still drive the session, and a resumption here would take the
// session from under it (it then resumes its own session again, with an h
// below the one this node acknowledged, and the server ends the session:
// the focus left eight rooms so in a flapping partition, where the holder
// kept its quorum through the third node); the holder is asked again
// shortly.
func (d *directory) askWitnesses(ctx actor.Context, id string, holder cluster.Member) {
	quorum := 1
	if d.placement != nil {
		quorum = max(quorum, d.placement.Quorum)
	}
	var witnesses []cluster.Member
	for _, m := range d.members {
		if m.Name != d.self && m.Name != holder.Name {
			witnesses = append(witnesses, m)
		}
	}
	if len(witnesses)+1 < quorum {
		d.onSessionAnswer(id, nil)
		return
	}
	possible, answered := 0, 0
	for _, w := range witnesses {
		f := ctx.RequestFuture(directoryOf(w), &focalpb.ContactQuery{Member: holder.Name}, sessionQueryTimeout)
		ctx.ReenterAfter(f, func(res any, err error) {
			answered++
			if seen, ok := res.(*focalpb.ContactSeen); err != nil || !ok || seen.Recent {
				possible++
			}
			if answered < len(witnesses) {
				return
			}
			if _, waiting := d.asking[id]; !waiting {
				return
			}
			if possible+1 < quorum {
				d.onSessionAnswer(id, nil)
				return
			}
			d.log.Info("not taking over yet: the session's holder may have quorum through other members", "session", id, "node", holder.Name, "through", possible)
			self, root := ctx.Self(), ctx.ActorSystem().Root
			time.AfterFunc(witnessRetry, func() { root.Send(self, askHolderAgain{id: id, holder: holder}) })
		})
	}
}

// witnessRetry is how soon a holder that may still have quorum is asked
// again.
const witnessRetry = 250 * time.Millisecond

// askHolderAgain: ask the holder of session id again (askWitnesses).
type askHolderAgain struct {
	id     string
	holder cluster.Member
}

// onContactQuery says whether this node has heard from a member within
// HolderContact, member of its view or not: contact needs this node's own
// probes answered, and memberlist probes no member it declared dead, so
// only what the member sends shows that it may still reach this node and
// count it towards its quorum.
func (d *directory) onContactQuery(ctx actor.Context, q *focalpb.ContactQuery) {
	recent := true
	if d.placement != nil && d.placement.Heard != nil && q.Member != d.self {
		heard := d.placement.Heard(q.Member)
		recent = !heard.IsZero() && time.Since(heard) <= d.cfg.HolderContact
	}
	ctx.Respond(&focalpb.ContactSeen{Member: q.Member, Recent: recent})
}

// resume opens the session st describes, for the rooms on it.
func (d *directory) resume(st *focalpb.ShardSession, rooms []string) {
	l := d.open(int(st.Shard), session.SMState{ID: st.Id, JID: st.Jid, InboundH: st.H, Max: time.Duration(st.MaxMs) * time.Millisecond})
	l.waiting = append(l.waiting, rooms...)
	delete(d.smStates, st.Id)
}

// onSessionAnswer goes on with taking over the rooms of session id once
// its last holder answered (or did not).
func (d *directory) onSessionAnswer(id string, res any) {
	rooms := d.asking[id]
	delete(d.asking, id)
	if held, ok := res.(*focalpb.SessionHeld); ok && held.Held {
		// Placement will move the rooms by handover once the views agree.
		d.log.Warn("not taking over: the session's holder still drives it", "session", id, "rooms", len(rooms))
		return
	}
	st := d.smStates[id]
	rooms = slices.DeleteFunc(rooms, func(room string) bool {
		r := d.rooms[room]
		return r == nil || !r.standby || r.session != id
	})
	if st == nil || len(rooms) == 0 || d.fenced {
		return
	}
	d.resume(st, rooms)
}

// onSessionQuery says whether this node holds (and drives on) a session.
func (d *directory) onSessionQuery(ctx actor.Context, q *focalpb.SessionQuery) {
	ctx.Respond(&focalpb.SessionHeld{Id: q.Id, Held: d.heldLink(q.Id) != nil})
}

// heldLink is the link of the session with resumption id id that this node
// holds (or is resuming) and drives on, if any.
func (d *directory) heldLink(id string) *link {
	if id == "" {
		return nil
	}
	for _, l := range d.links {
		if l.session == id && !l.releasing {
			return l
		}
	}
	return nil
}

// releasing says whether this node is releasing the session with
// resumption id id.
func (d *directory) releasing(id string) bool {
	for _, l := range d.links {
		if id != "" && l.session == id && l.releasing {
			return true
		}
	}
	return false
}

// onShardSession keeps a resumption state another node sent, and resumes
// the session at once when it is final (the sender let it go).
//
// h only grows along a session's life, whoever holds it, and resuming
// with an h below one the server was given destroys the session: so a
// state below the highest h this node has seen for the session (a final
// state held up by a partition, say, while the session moved on) is stale
// and dropped. That is the only test of staleness: how old a state is by
// the sender's clock says nothing this node's clock can check.
func (d *directory) onShardSession(ctx actor.Context, st *focalpb.ShardSession) {
	ctx.Respond(&focalpb.ShardSessionAck{Id: st.Id, H: st.H})
	if st.H < d.highH[st.Id] {
		d.log.Warn("stale session state", "session", st.Id, "from", st.Owner, "h", st.H, "seen", d.highH[st.Id])
		return
	}
	d.sawH(st.Id, st.H)
	if d.heldLink(st.Id) != nil {
		// Held here already: the sender's state is older than this node's.
		return
	}
	d.smStates[st.Id] = st
	d.pruneStates()
	if !st.Final {
		return
	}
	var rooms []string
	for room, r := range d.rooms {
		if r.standby && r.session == st.Id {
			rooms = append(rooms, room)
		}
	}
	d.log.Info("shard session handed over", "session", st.Id, "from", st.Owner, "h", st.H, "rooms", len(rooms))
	// Taken over here whoever owns the shard: the sender let the session
	// go to this node alone (handing it over to its owner, or letting it
	// go to its replica or successor when cut off), so nobody else can
	// resume it. A node that does not own the shard hands it over once it
	// is in steady contact with the owner. Without quorum it waits
	// (place takes it over once quorum is back).
	if len(rooms) == 0 || d.fenced {
		return
	}
	for _, room := range rooms {
		d.rooms[room].promotePending = false
		d.takeOver(ctx, room)
	}
}

// maxHighH bounds the sessions whose highest h is remembered; ids of
// sessions long gone are dropped first (at random, as maps go).
const maxHighH = 4096

func (d *directory) sawH(id string, h uint32) {
	if _, ok := d.highH[id]; !ok && len(d.highH) >= maxHighH {
		for old := range d.highH {
			delete(d.highH, old)
			break
		}
	}
	d.highH[id] = max(d.highH[id], h)
}

// maxStates is how many resumption states a directory keeps before it
// drops those of sessions no standby room is on whose server-side life
// (hibernation included) is surely over.
const maxStates = 1024

func (d *directory) pruneStates() {
	if len(d.smStates) <= maxStates {
		return
	}
	for id, st := range d.smStates {
		if d.sessionRooms[id] == 0 && time.Since(time.UnixMilli(st.SentUnixMs)) > time.Duration(st.MaxMs)*time.Millisecond {
			delete(d.smStates, id)
		}
	}
}

// setStandbySession records the session a standby room's focus is on (""
// for none), and forgets the resumption state of a session no standby room
// is on any more.
func (d *directory) setStandbySession(room, id string) {
	r := d.rooms[room]
	if r == nil || r.session == id {
		return
	}
	if old := r.session; old != "" {
		if d.sessionRooms[old]--; d.sessionRooms[old] <= 0 {
			delete(d.sessionRooms, old)
			delete(d.smStates, old)
		}
	}
	r.session = id
	if id != "" {
		d.sessionRooms[id]++
	}
}

// promoting says whether room already waits for a session to come up,
// or for its holder's answer.
func (d *directory) promoting(room string) bool {
	for _, rooms := range d.asking {
		if slices.Contains(rooms, room) {
			return true
		}
	}
	for _, l := range d.links {
		if slices.Contains(l.waiting, room) {
			return true
		}
	}
	return false
}
