package directory

import (
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"focal/actors/await"
	"focal/actors/conference"
	"focal/cluster"
	"focal/proto"
	"focal/xmpp/session"
)

// Shard sessions, the directory's side. In a cluster the focus is in each
// room through the XMPP session of the room's shard (cluster.Shard), one per
// shard and node that drives it, with XEP-0198 on. The session is what
// moves when the shard's conferences move: the holder sends its
// resumption state to the next owner before each acknowledgement it gives
// the server, and the next owner resumes it, when the holder dies or hands
// the shard over, and is the same occupant in every room.

// ShardSession is one focus session carrying the rooms of a shard on this
// node. Its events reach the directory as SessionUp, SessionDown,
// SessionReleased and SessionEnded.
type ShardSession interface {
	session.Wire
	// SetSuccessor names the directory that takes the session over if this
	// node goes (nil: nobody). The resumption state is sent there, and
	// acknowledged, before every acknowledgement to the server.
	SetSuccessor(*actor.PID)
	// SetMayResume allows the session to resume itself after its
	// connection drops. A node that may have lost the session to another
	// must not: the other has acknowledged more, and the server would
	// destroy the session.
	SetMayResume(bool)
	// Release writes what is queued, then cuts the connection without ending
	// the XMPP session, which the server keeps for its successor.
	Release()
	// Close writes what is queued and ends the session: the server takes
	// the focus out of every room it is still in.
	Close()
}

// SessionOpener starts a shard session: a new one when resume has no ID,
// otherwise a resumption of that one. id names it in the events.
type SessionOpener func(id string, shard int, resume session.SMState) ShardSession

// Events of shard sessions, sent to the directory.
type (
	// SessionUp: the stream is up, on a resumed (Resumed) or new session.
	SessionUp struct {
		ID      string
		Addr    string // full JID
		Session string // resumption id
		Resumed bool
	}
	// SessionDown: the stream dropped; it is being re-established.
	SessionDown struct{ ID string }
	// SessionReleased: Release is done; State is what to resume from, and
	// Handed the last state the session gave its successor (for a node cut
	// off, see onSessionReleased).
	SessionReleased struct {
		ID     string
		State  session.SMState
		Handed session.SMState
		Err    error
	}
	// SessionEnded: the session stopped on its own (replaced by another
	// connection, or resumption declined) and holds nothing any more.
	// State is the last resumption state its successor was given.
	SessionEnded struct {
		ID    string
		Err   error
		State session.SMState
	}
)

// link is the directory's record of one shard session it holds.
type link struct {
	id      string
	shard   int
	s       ShardSession
	up      bool
	addr    string
	session string // resumption id, once known
	since   uint32 // the h it was opened to resume from (0 for a new session)
	resumed bool   // opened to resume a session another node held
	// rooms it carries that this node drives (→ the conference's actor
	// id); handed: rooms handed over (the session is still their focus
	// occupant) → the directory they went to.
	rooms  map[string]string
	handed map[string]*actor.PID
	// waiting: standby rooms to promote once the session is up.
	waiting   []string
	releasing bool
	// stranded: a stanza was read on it for a room let go with nobody to
	// pass it to (directory.strand); its barriers go unanswered.
	stranded bool
}

func (d *directory) shardOf(room string) int { return cluster.Shard(room, d.cfg.Shards) }

// sessionFor returns the session new conferences of room's shard go on,
// opening one if this node has none.
func (d *directory) sessionFor(room string) *link {
	shard := d.shardOf(room)
	if l := d.links[d.shardLink[shard]]; l != nil && !l.releasing {
		return l
	}
	l := d.open(shard, session.SMState{})
	d.shardLink[shard] = l.id
	return l
}

func (d *directory) open(shard int, resume session.SMState) *link {
	d.linkSeq++
	id := fmt.Sprintf("shard-%d.%d", shard, d.linkSeq)
	l := &link{id: id, shard: shard, rooms: map[string]string{}, handed: map[string]*actor.PID{},
		resumed: resume.ID != "", session: resume.ID, since: resume.InboundH}
	l.s = d.cfg.Sessions(id, shard, resume)
	l.s.SetMayResume(true)
	d.links[id] = l
	d.setSuccessor(l)
	d.log.Info("shard session opened", "shard", shard, "session", id, "resuming", resume.ID)
	return l
}

// setSuccessor points the session's resumption state at the node that
// keeps the standbys of its conferences, so that the two travel on one
// ordered link: the barrier before each state (conference.Barrier) sends
// every conference change the acknowledged stanzas led to ahead of it. A
// successor other than the replica could resume with an h covering
// stanzas whose effects its standbys never got, or leave the replica to
// resume with an h below what the server was given, which ends the
// session (both seen under load, when contact with the replica wavered).
// So: the owner's successor is the second of the ranking, its replica
// (setReplica); a node driving a shard it does not own replicates to,
// and makes successor, the first member it is in contact with (promoteOn,
// place) — a successor that cannot answer (re-added by a one-way
// partition) would stall the session, and the holder acknowledges nothing
// to the server before its successor acknowledged the state.
func (d *directory) setSuccessor(l *link) {
	ranked := cluster.Ranked(cluster.ShardKey(l.shard), d.members)
	if len(ranked) > 1 && ranked[0].Name == d.self {
		l.s.SetSuccessor(directoryOf(ranked[1]))
		return
	}
	var fallback *actor.PID
	now := time.Now()
	for _, m := range ranked {
		if m.Name == d.self {
			continue
		}
		if d.inContact(m.Name, now) {
			l.s.SetSuccessor(directoryOf(m))
			return
		}
		if fallback == nil {
			fallback = directoryOf(m)
		}
	}
	l.s.SetSuccessor(fallback)
}

func (d *directory) onSessionUp(ctx actor.Context, msg *SessionUp) {
	l := d.links[msg.ID]
	if l == nil {
		return
	}
	lost := l.session != "" && !msg.Resumed && msg.Session != l.session
	l.up, l.addr, l.session = true, msg.Addr, msg.Session
	d.log.Info("shard session up", "session", l.id, "jid", msg.Addr, "resumed", msg.Resumed)
	if lost && len(l.rooms) > 0 && !d.ownsShard(l.shard) {
		// The server refused to resume the session (another node took it
		// over, or it expired): a new one came up, whose StreamUp would
		// make the conferences join their rooms again. They are not this
		// node's to drive (it lacks a quorum, or another member owns their
		// shard): whoever does picks them up.
		d.dropLink(ctx, l, "its session could not be resumed")
		d.closeLink(l)
		return
	}
	up := &conference.StreamUp{Addr: msg.Addr, Session: msg.Session, Resumed: msg.Resumed}
	for room := range l.rooms {
		if r := d.rooms[room]; r != nil {
			ctx.Send(r.pid, up)
		}
	}
	waiting := l.waiting
	l.waiting = nil
	for _, room := range waiting {
		// A resumed session is the focus occupant of these rooms already;
		// a new one (the resumption failed) must join them.
		d.promoteOn(ctx, room, l, msg.Resumed && l.resumed)
	}
	l.resumed = false
}

func (d *directory) onSessionDown(ctx actor.Context, msg *SessionDown) {
	l := d.links[msg.ID]
	if l == nil {
		return
	}
	l.up = false
	for room := range l.rooms {
		if r := d.rooms[room]; r != nil {
			ctx.Send(r.pid, &conference.StreamDown{})
		}
	}
}

// linkRoomEnded: the conference actor pid of room, driven on a session
// here, stopped, having left its room (the session may close once it
// carries nothing) or been handed over to the directory to (the session is
// released once all its rooms are).
func (d *directory) linkRoomEnded(room, pid string, handedOver bool, to *actor.PID) {
	l := d.links[d.roomLink[room]]
	if l == nil || l.rooms[room] != pid {
		return
	}
	delete(l.rooms, room)
	if handedOver {
		l.handed[room] = to
	} else {
		delete(d.roomLink, room)
	}
	d.settle(l)
}

// settle releases a session whose rooms have all been handed over, and
// closes one that carries no room and whose shard is not this node's.
func (d *directory) settle(l *link) {
	if len(l.rooms) > 0 || len(l.waiting) > 0 || l.releasing {
		return
	}
	if len(l.handed) > 0 {
		l.releasing = true
		l.s.SetMayResume(false)
		if d.shardLink[l.shard] == l.id {
			delete(d.shardLink, l.shard)
		}
		d.log.Info("releasing shard session", "session", l.id, "rooms", len(l.handed))
		l.s.Release()
		return
	}
	if owner, ok := cluster.Owner(cluster.ShardKey(l.shard), d.members); d.clustered && ok && owner.Name == d.self && !d.fenced {
		return // kept for the shard's next conference
	}
	d.closeLink(l)
}

// ownsShard says whether this node, with quorum, is the first of the
// shard's live members.
func (d *directory) ownsShard(shard int) bool {
	if !d.clustered {
		return true
	}
	ranked := cluster.Ranked(cluster.ShardKey(shard), d.members)
	return !d.fenced && len(ranked) > 0 && ranked[0].Name == d.self
}

func (d *directory) closeLink(l *link) {
	d.log.Info("closing shard session", "session", l.id)
	l.s.Close()
	delete(d.links, l.id)
	if d.shardLink[l.shard] == l.id {
		delete(d.shardLink, l.shard)
	}
}

// onSessionReleased sends the released session's state to the node its
// rooms went to, which resumes it.
func (d *directory) onSessionReleased(ctx actor.Context, msg *SessionReleased) {
	l := d.links[msg.ID]
	if l == nil {
		return
	}
	delete(d.links, l.id)
	// Only one node may resume it: the node every room went to, so that
	// the session and the conferences' final states meet; else (rooms
	// sent to several nodes, or to none) the shard's owner if that is
	// another node, else whoever a room went to. Not the owner first:
	// the view can change between the handover and the release (a member
	// heard from again, say), and a session sent where no room went was
	// never resumed (the outbound partition test lost a conference so).
	var to *actor.PID
	together := true
	for room, pid := range l.handed {
		switch {
		case to == nil:
			to = pid
		case pid == nil || !pid.Equal(to):
			together = false
		}
		delete(d.roomLink, room)
	}
	if msg.Err != nil || msg.State.ID == "" {
		d.log.Error("shard session not released", "session", l.id, "err", msg.Err)
		return
	}
	if owner, ok := cluster.Owner(cluster.ShardKey(l.shard), d.members); ok && owner.Name != d.self && !d.fenced && (!together || to == nil) {
		to = directoryOf(owner)
	}
	if to == nil {
		d.log.Warn("released shard session: nobody to resume it", "session", l.id)
		return
	}
	if d.fenced && msg.Handed.ID == msg.State.ID && msg.Handed.InboundH <= msg.State.InboundH {
		// Cut off, the conferences let go could not pass on what reached
		// them after the successor's last state (the forward went nowhere):
		// resumed from that state, the server redelivers it to the next
		// driver. The server was acknowledged no more than it.
		msg.State.InboundH = msg.Handed.InboundH
	}
	d.sawH(msg.State.ID, msg.State.InboundH)
	d.rememberReleased(ctx, msg.State.ID, l.handed, to)
	// Whatever state of the session was kept here is older than this one.
	delete(d.smStates, msg.State.ID)
	d.log.Info("shard session released", "session", l.id, "to", to.Address, "h", msg.State.InboundH)
	final := &focalpb.ShardSession{
		Shard: int32(l.shard), Id: msg.State.ID, Jid: msg.State.JID, H: msg.State.InboundH,
		MaxMs: msg.State.Max.Milliseconds(), Owner: d.self, Final: true, SentUnixMs: time.Now().UnixMilli(),
	}
	d.sendFinal(ctx, final, to, time.Now().Add(msg.State.Max))
}

// finalAttempt bounds one wait for the acknowledgement of a released
// session's final state.
const finalAttempt = 500 * time.Millisecond

// sendFinal sends a released session's final state to the node that is to
// resume it, again until that node acknowledges it: nobody else can resume
// the session, so a lost final state is a lost conference. Each attempt
// goes to the shard's live owner if that is another node by then (the
// first one may have died meanwhile), and they stop when the server has
// surely forgotten the session (until).
func (d *directory) sendFinal(ctx actor.Context, final *focalpb.ShardSession, to *actor.PID, until time.Time) {
	f := ctx.RequestFuture(to, final, finalAttempt)
	ctx.ReenterAfter(f, func(_ any, err error) {
		if err == nil {
			return
		}
		if time.Now().After(until) {
			d.log.Error("released shard session never acknowledged", "session", final.Id, "to", to.Address, "err", err)
			return
		}
		// Again to the same node while it is a member (the conferences'
		// final states went there too); to the shard's owner if it left.
		next := to
		ranked := cluster.Ranked(cluster.ShardKey(int(final.Shard)), d.members)
		if !d.memberAt(to.Address) && len(ranked) > 0 && ranked[0].Name != d.self && !d.fenced {
			next = directoryOf(ranked[0])
		}
		d.log.Warn("released shard session not acknowledged yet; sending again", "session", final.Id, "to", next.Address, "err", err)
		d.sendFinal(ctx, final, next, until)
	})
}

// memberAt says whether a member's remote address is addr.
func (d *directory) memberAt(addr string) bool {
	for _, m := range d.members {
		if m.Remote == addr {
			return true
		}
	}
	return false
}

func (d *directory) onSessionEnded(ctx actor.Context, msg *SessionEnded) {
	l := d.links[msg.ID]
	if l == nil {
		return
	}
	d.log.Warn("shard session ended", "session", l.id, "err", msg.Err, "rooms", len(l.rooms))
	delete(d.links, l.id)
	if d.shardLink[l.shard] == l.id {
		delete(d.shardLink, l.shard)
	}
	switch {
	case errors.Is(msg.Err, session.ErrReplaced):
		// Another node resumed the session: the rooms are driven from it
		// there. Stop driving them without a trace: no leave (the
		// occupant is the other node's now), no new session joining them.
		// Placement brings them back here if they are this node's.
		d.dropLink(ctx, l, "its session was resumed by another node")
		return
	case errors.Is(msg.Err, session.ErrResumeDeclined):
		// This node may have lost the session (it lacks a quorum, or
		// woke from a stall): others may have resumed it, or will. The
		// conferences are let go as when cut off, and the session's last
		// state goes to its successor, which resumes it unless it (or the
		// node it went to) holds it already: a conference let go is
		// picked up again.
		d.letGoLink(ctx, l, msg.State)
		return
	}
	// Its rooms lost their focus occupant with it: they go on a new
	// session, which joins them.
	for room, pid := range l.rooms {
		nl := d.sessionFor(room)
		nl.rooms[room] = pid
		d.roomLink[room] = nl.id
		if r := d.rooms[room]; r != nil {
			ctx.Send(r.pid, &conference.Rewire{Wire: nl.s})
			if nl.up {
				ctx.Send(r.pid, &conference.StreamUp{Addr: nl.addr, Session: nl.session})
			}
		}
	}
}

// letGoLink lets every conference on l go (final state to its replica,
// no leave) and sends st, the session's last state, as final to the
// shard's successor.
func (d *directory) letGoLink(ctx actor.Context, l *link, st session.SMState) {
	takeover := len(l.rooms) == 0 && len(l.waiting) > 0
	for room, pid := range l.rooms {
		delete(d.roomLink, room)
		if r := d.rooms[room]; r != nil && r.pid.Id == pid && !r.standby && r.handingOff == "" {
			d.log.Warn("letting the conference go: its session may have been taken over", "room", room, "session", l.id)
			r.handingOff = cutOff
			ctx.Send(r.pid, &conference.LetGo{})
		}
	}
	for room := range l.handed {
		delete(d.roomLink, room)
	}
	l.rooms, l.handed, l.waiting = map[string]string{}, map[string]*actor.PID{}, nil
	if st.ID == "" {
		return
	}
	final := &focalpb.ShardSession{
		Shard: int32(l.shard), Id: st.ID, Jid: st.JID, H: st.InboundH,
		MaxMs: st.Max.Milliseconds(), Owner: d.self, Final: true, SentUnixMs: time.Now().UnixMilli(),
	}
	if takeover {
		// A takeover this node may not make yet (it stalled moments ago,
		// or lost quorum meanwhile): the session was let go to this node,
		// whose standbys are the conferences' only copy. It keeps the
		// final state and tries again (place: released).
		d.log.Warn("takeover put off", "session", l.id, "h", st.InboundH)
		d.smStates[st.ID] = final
		d.recheckAt(ctx, time.Now().Add(time.Second))
		return
	}
	var to, fallback *actor.PID
	now := time.Now()
	for _, m := range cluster.Ranked(cluster.ShardKey(l.shard), d.members) {
		if m.Name == d.self {
			continue
		}
		if fallback == nil {
			fallback = directoryOf(m)
		}
		if d.inContact(m.Name, now) {
			to = directoryOf(m)
			break
		}
	}
	if to == nil {
		to = fallback
	}
	if to == nil {
		d.log.Warn("session let go: nobody to resume it", "session", l.id)
		return
	}
	d.log.Info("shard session let go", "session", l.id, "to", to.Address, "h", st.InboundH)
	d.sendFinal(ctx, final, to, now.Add(st.Max))
}

// dropLink stops driving every room on l without a trace, and forgets l:
// each conference stops as if handed over to nobody (no final state, no
// leave, nothing to the bridges). Standbys waiting to be promoted on it
// stay standbys.
func (d *directory) dropLink(ctx actor.Context, l *link, why string) {
	for room, pid := range l.rooms {
		delete(d.roomLink, room)
		r := d.rooms[room]
		if r == nil || r.pid.Id != pid || r.standby {
			continue
		}
		d.log.Warn("no longer driving the conference: "+why, "room", room, "session", l.id)
		r.handingOff = elsewhere
		ctx.Send(r.pid, &conference.HandOver{Node: elsewhere})
	}
	for room := range l.handed {
		delete(d.roomLink, room)
	}
	l.rooms, l.handed, l.waiting = map[string]string{}, map[string]*actor.PID{}, nil
}

// elsewhere marks, in handingOff, a conference stopped because its
// session is driven on another node.
const elsewhere = "(driven elsewhere)"

func (d *directory) sessionIDs() []string {
	var ids []string
	for _, l := range d.links {
		ids = append(ids, l.id)
	}
	return ids
}

// barrierTimeout bounds one wait for a conference. One that does not
// answer in time makes the barrier go unanswered, and the session asks
// again (a stopped one answers at once, as a dead letter).
const barrierTimeout = time.Second

// onBarrier passes a barrier to every conference on the session and
// answers once all have; not at all if one did not answer in time.
func (d *directory) onBarrier(ctx actor.Context, b *conference.Barrier) {
	var futures []*actor.Future
	if l := d.links[b.Session]; l != nil {
		if l.stranded {
			return // see strand
		}
		for room := range l.rooms {
			if r := d.rooms[room]; r != nil {
				futures = append(futures, ctx.RequestFuture(r.pid, b, barrierTimeout))
			}
		}
	}
	if to, root := ctx.Sender(), ctx.ActorSystem().Root; to != nil {
		await.AllAnswered(futures, func(answered bool) {
			if answered {
				root.Send(to, b)
			}
		})
	}
}
