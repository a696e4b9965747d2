package directory

import (
	"slices"
	"sort"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"focal/actors/conference"
	"focal/cluster"
	"focal/proto"
)

// Placement of conferences over the cluster, the directory's side. Rooms
// are placed by shard (cluster.Shard): the owner of a room is the first
// member of its shard's rendezvous ranking, the replica the second. An
// owner sends every change of state to the replica's directory, which
// keeps a standby conference (not in the room); when the owner goes, the
// replica resumes the shard's session and promotes its standbys; when a
// better owner arrives, the owner sends it the final states, releases the
// session, and the new owner resumes it.

// directoryOf addresses the conference directory of a member.
func directoryOf(m cluster.Member) *actor.PID {
	return actor.NewPID(m.Remote, Name)
}

func (d *directory) member(name string) (cluster.Member, bool) {
	for _, m := range d.members {
		if m.Name == name {
			return m, true
		}
	}
	return cluster.Member{}, false
}

// remoteOwner returns the owner of room when it is another node.
func (d *directory) remoteOwner(room string) (cluster.Member, bool) {
	if !d.clustered {
		return cluster.Member{}, false
	}
	owner, ok := cluster.Owner(cluster.ShardKey(d.shardOf(room)), d.members)
	return owner, ok && owner.Name != d.self
}

// ranked is room's placement: its shard's members in rendezvous order.
func (d *directory) ranked(room string) []cluster.Member {
	return cluster.Ranked(cluster.ShardKey(d.shardOf(room)), d.members)
}

func (d *directory) onPlacement(ctx actor.Context, p *Placement) {
	now := time.Now()
	d.self = p.Self
	d.cfg.Conference.Node = p.Self
	d.placement = p
	d.contacts = nil // read afresh
	for _, m := range p.Members {
		d.known[m.Name] = m
	}
	// Ownership is ranked over the members heard from: a view change is
	// a change of those.
	members, recheck := d.audible(p.Members, now)
	d.noteView(members, now)
	d.clustered, d.members = true, members
	if !recheck.IsZero() {
		d.recheckAt(ctx, recheck)
	}
	lacking := len(p.Members) < p.Quorum || p.Reachable+1 < p.Quorum
	switch {
	case !lacking:
		d.lackingSince = time.Time{}
		if d.fenced {
			d.fenced = false
			d.log.Warn("cluster quorum regained", "members", len(p.Members), "reachable", p.Reachable, "quorum", p.Quorum)
		}
	case d.fenced:
	case d.lackingSince.IsZero():
		// Not at once: a member rejoining after a partition gossips
		// stale deaths, which other members believe for a few
		// milliseconds before the dead refute them.
		d.lackingSince = time.Now()
		self, root := ctx.Self(), ctx.ActorSystem().Root
		time.AfterFunc(d.cfg.FenceDelay, func() { root.Send(self, fenceCheck{}) })
	case time.Since(d.lackingSince) >= d.cfg.FenceDelay:
		d.fenced = true
		d.log.Warn("cluster quorum lost", "members", len(p.Members), "reachable", p.Reachable, "quorum", p.Quorum)
	}
	for room, r := range d.rooms {
		if d.fenced {
			d.fence(ctx, room, r)
			continue
		}
		d.place(ctx, room, r)
	}
	for _, l := range d.links {
		l.s.SetMayResume(!d.fenced && !l.releasing)
		d.setSuccessor(l)
		d.settle(l)
	}
	d.rerouteExited(ctx, p.Exited)
}

// fence stops a conference this node drives while it is in a minority:
// the majority side takes it over from its standby, and two nodes must not
// drive it. The conference stops without leaving the room or ending
// anything on the bridge, and its session is released for the majority to
// resume. Standby conferences stay: they are the majority's copy if this
// node is the one that survives.
func (d *directory) fence(ctx actor.Context, room string, r *entry) {
	if r.standby || r.handingOff != "" {
		return
	}
	d.log.Warn("no quorum: letting the conference go", "room", room)
	r.handingOff = cutOff
	ctx.Send(r.pid, &conference.LetGo{})
}

// cutOff marks, in handingOff, a conference let go for want of quorum: it
// goes to whoever resumes its session, not to a node of this one's choice.
const cutOff = "(cut off)"

// place brings one local conference in line with the current placement.
func (d *directory) place(ctx actor.Context, room string, r *entry) {
	if !d.clustered {
		return
	}
	now := time.Now()
	ranked := d.ranked(room)
	if len(ranked) == 0 {
		return // this node is draining and alone: keep what it has
	}
	owner := ranked[0]
	if r.standby {
		_, ownerAlive := d.member(r.owner)
		switch {
		case d.released(r):
			// Its holder let the session go to this node: no need to wait
			// for it to die or for the promotion delay, nor to own the
			// shard (nobody else got the final state). The final state
			// came while this node lacked quorum, or before its view had
			// the owner draining or gone.
			if !d.promoting(room) {
				d.takeOver(ctx, room)
			}
		case owner.Name == d.self && ownerAlive:
			// The owner is alive (draining, or outranked by this node): it
			// hands the conference over with its final state.
		case owner.Name == d.self && !r.promoteDue && !d.exited(r.owner):
			// Not at once: the owner, if it is only cut off from us, needs
			// time to see itself in a minority and let the conference go.
			// One whose process is proven gone (cluster/liveness.go)
			// drives nothing: nothing to wait for.
			if !r.promotePending {
				r.promotePending = true
				self, root := ctx.Self(), ctx.ActorSystem().Root
				time.AfterFunc(d.cfg.PromoteDelay, func() { root.Send(self, &promoteDue{room: room}) })
			}
		case owner.Name == d.self:
			r.promoteDue = false
			if !d.promoting(room) {
				d.takeOver(ctx, room)
			}
		case ownerAlive && r.owner != owner.Name && r.owner != "":
			// Its driver is not its owner: it keeps the conference until
			// it can hand it over (steady contact with the owner), and
			// chose this node as its replica meanwhile.
		case len(ranked) < 2 || ranked[1].Name != d.self:
			if !ownerAlive {
				// This may be the last copy: it goes to the owner.
				d.log.Info("passing the conference on to its owner", "room", room, "to", owner.Name)
				ctx.Send(r.pid, &conference.PassOn{To: directoryOf(owner), Session: d.smStates[r.session]})
				d.forget(room)
				return
			}
			d.log.Info("no longer the replica", "room", room)
			d.forget(room)
			ctx.Poison(r.pid)
		}
		return
	}
	if owner.Name != d.self {
		if r.handingOff != "" {
			return
		}
		steady := d.steady(owner.Name, now) || (d.draining() && d.inContact(owner.Name, now))
		if !steady || !d.reached(ctx, owner, now) {
			// A handover to a member this node is not in steady contact
			// with could be lost on the way (a one-way partition lets
			// gossip through but not the final state), or move the
			// conference back and forth while a link flaps; nor over an
			// actor link that did not answer lately (reach.go). It waits;
			// the conference stays driven here, replicated to a member in
			// contact. A draining node cannot keep it: it hands over to an
			// owner that answers its probes now.
			if !r.waitingFor {
				d.log.Info("keeping the conference until its owner is in steady contact and answers over the actor link", "room", room, "node", owner.Name)
				r.waitingFor = true
			}
			if at := d.whenSteady(owner.Name, now); !at.IsZero() {
				d.recheckAt(ctx, at)
			}
			for _, m := range ranked {
				if m.Name != d.self && d.inContact(m.Name, now) {
					d.setReplicaTo(ctx, r, m) // the session's successor too
					break
				}
			}
			return
		}
		r.handingOff = owner.Name
		ctx.Send(r.pid, &conference.HandOver{To: directoryOf(owner), Node: owner.Name})
		return
	}
	r.waitingFor = false
	d.setReplica(ctx, r, ranked)
}

// exited says whether name's process is proven gone (Placement.Exited).
func (d *directory) exited(name string) bool {
	return d.placement != nil && slices.Contains(d.placement.Exited, name)
}

// released says whether the session of a standby room was released by
// its holder to be resumed here: a final resumption state. One that was
// held up while the session moved on has an h below one seen since and was
// dropped on arrival (onShardSession); the state is consumed when resumed.
func (d *directory) released(r *entry) bool {
	st := d.smStates[r.session]
	return st != nil && st.Final
}

func (d *directory) setReplica(ctx actor.Context, r *entry, ranked []cluster.Member) {
	if len(ranked) < 2 {
		r.replica = ""
		return
	}
	d.setReplicaTo(ctx, r, ranked[1])
}

func (d *directory) setReplicaTo(ctx actor.Context, r *entry, m cluster.Member) {
	if r.replica != m.Name {
		r.replica = m.Name
		ctx.Send(r.pid, &conference.ReplicaIs{PID: directoryOf(m)})
	}
}

// onState takes a replicated state from a conference's owner.
func (d *directory) onState(ctx actor.Context, st *focalpb.ConferenceState) {
	final := st.Final // a fenced node keeps it as not final (below)
	if final && ctx.Sender() != nil {
		// A handover's final state is acknowledged as received, whatever
		// becomes of it here: the sender sends it until it is
		// (conference/handover.go), and one dropped below is dropped for
		// good.
		defer ctx.Respond(&focalpb.StateAck{Room: st.Room, Version: st.Version})
	}
	r := d.rooms[st.Room]
	if st.Ended {
		if r != nil && r.standby {
			d.forget(st.Room)
			ctx.Poison(r.pid)
		}
		return
	}
	// orphaned: nobody drives it any more (its owner let go, or it was
	// passed on by a node that held the last copy).
	orphaned := st.Owner == ""
	if st.Final && r != nil && r.standby && r.owner != "" && st.Owner != "" && st.Owner != r.owner {
		// Held up, by a partition most likely: the standby follows another
		// driver now, so the sender let the conference go before that
		// driver had it. (Not judged by the sender's clock, which this
		// node's cannot check.)
		d.log.Warn("stale final state", "room", st.Room, "from", st.Owner, "driver", r.owner)
		return
	}
	if st.Final && d.fenced {
		// A node in a minority drives nothing, not even what it is handed:
		// it keeps the state as a standby, ownerless, and promotes it (after
		// the delay) once it has quorum again and ranks first.
		st.Final = false
		orphaned = true
	}
	if r == nil {
		r = d.spawn(ctx, st.Room, st)
	} else if !r.standby {
		d.log.Warn("state for a conference this node drives", "room", st.Room, "from", st.Owner)
		return
	}
	r.owner = st.Owner
	if orphaned {
		r.owner = ""
	}
	if st.Session != "" {
		d.setStandbySession(st.Room, st.Session)
	}
	// A final state is driven from once its session, released by the
	// sender after its last conference went, is resumed (onShardSession).
	ctx.Send(r.pid, st)
	d.releaseInherited(ctx, st.Room)
	if ctx.Sender() != nil && !final {
		// The owner sends what follows from this state once it is here.
		ctx.Respond(&focalpb.StateAck{Room: st.Room, Version: st.Version})
	}
}

func (d *directory) roomList() *focalpb.RoomList {
	out := &focalpb.RoomList{Node: d.self, Sessions: d.sessionIDs()}
	for room, r := range d.rooms {
		if r.standby {
			out.Standby = append(out.Standby, room)
		} else {
			out.Rooms = append(out.Rooms, room)
		}
	}
	sort.Strings(out.Rooms)
	sort.Strings(out.Standby)
	sort.Strings(out.Sessions)
	return out
}

func (d *directory) onPromoteDue(ctx actor.Context, msg *promoteDue) {
	r := d.rooms[msg.room]
	if r == nil || !r.standby || d.fenced {
		return
	}
	r.promotePending, r.promoteDue = false, true
	d.place(ctx, msg.room, r)
	r.promoteDue = false
}
