package directory

import (
	"context"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"focal/actors/bridge"
	"focal/actors/conference"
	"focal/cluster"
	"focal/proto"
	"focal/xmpp"
	"focal/xmpp/session"
)

// directory creates conference actors on the first request for a room and
// routes later requests and stanzas to them, and keeps each room's place in
// the cluster (an entry per room). Its state is its own: nothing else
// reads or writes it.
type directory struct {
	cfg   Config
	wire  session.Wire
	log   *slog.Logger
	rooms map[string]*entry // the rooms it has a conference actor for
	byPID map[string]string // PID id → room, to forget stopped conferences
	addr  string            // the client stream's full JID while it is up

	// Cluster placement (see placement.go); zero when not clustered.
	clustered    bool
	fenced       bool // without quorum: drives nothing
	self         string
	members      []cluster.Member // the placement's, without unheard members (audible)
	unheardNames string           // the unheard members left out, for the log
	previous     []cluster.Member // the member set before the latest change
	viewChanged  time.Time        // when the member set last changed (see inherit.go)
	firstView    time.Time        // when this node got its first placement
	placement    *Placement       // the latest
	lackingSince time.Time        // quorum missing since (zero: it is not)
	recheck      time.Time        // a placeCheck is due then (zero: none)
	// contacts: the latest read of Placement.Contacts, at contactsRead.
	contacts     map[string]cluster.Contact
	contactsRead time.Time

	// Shard sessions (see sessions.go).
	links     map[string]*link                 // by id
	shardLink map[int]string                   // shard → session new conferences go on
	roomLink  map[string]string                // room → session it is on
	smStates  map[string]*focalpb.ShardSession // resumption states other nodes sent, by resumption id
	// sessionRooms counts the standby rooms on each resumption id (an
	// index of the entries' sessions, kept by setStandbySession).
	sessionRooms     map[string]int
	highH            map[string]uint32            // highest h seen per resumption id
	received         received                     // what the server sent this node's shard sessions (copies.go)
	asking           map[string][]string          // resumption id → rooms waiting for its holder's answer
	inherits         map[string]*inheritance      // rooms that may be on their way here (inherit.go)
	known            map[string]cluster.Member    // every member ever seen, by name (its last address)
	releasedSessions map[string]*releasedSession  // by resumption id, for a while (released.go)
	reach            map[string]*reach            // the actor link to each member, by name (reach.go)
	forwards         map[string][]*pendingForward // requests forwarded and not answered, by member (forward.go)
	linkSeq          int
}

// Props returns the props of a node's conference directory, which talks
// to the server on wire (the node's own client session) outside shard
// sessions.
func Props(cfg Config, wire session.Wire) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return newDirectory(cfg, wire) })
}

func newDirectory(cfg Config, wire session.Wire) *directory {
	return &directory{
		cfg:          cfg,
		wire:         wire,
		log:          cfg.Conference.Logger.With("actor", Name),
		rooms:        make(map[string]*entry),
		byPID:        make(map[string]string),
		sessionRooms: make(map[string]int),
		links:        make(map[string]*link),
		shardLink:    make(map[int]string),
		roomLink:     make(map[string]string),
		smStates:     make(map[string]*focalpb.ShardSession),
		highH:        make(map[string]uint32),
		asking:       make(map[string][]string),
		inherits:     make(map[string]*inheritance),
		known:        make(map[string]cluster.Member),
		reach:        make(map[string]*reach),
		forwards:     make(map[string][]*pendingForward),
	}
}

func (d *directory) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *focalpb.ConferenceRequest:
		if d.fenced {
			ctx.Respond(cutOffAnswer(msg.Room))
			return
		}
		if refused := d.checkToken(msg); refused != nil {
			ctx.Respond(&focalpb.ConferenceResponse{Room: msg.Room, Error: refused})
			return
		}
		if owner, remote := d.remoteOwner(msg.Room); remote && (!msg.Forwarded || msg.PassOn) {
			msg.Forwarded, msg.PassOn = true, false
			d.forward(ctx, owner, msg)
			return
		}
		msg.PassOn = false
		d.serve(ctx, msg, ctx.Sender(), true)
	case *focalpb.Logout:
		d.onLogout(ctx, msg)
	case *Placement:
		d.onPlacement(ctx, msg)
	case fenceCheck:
		if d.placement != nil {
			d.onPlacement(ctx, d.placement)
		}
	case placeCheck:
		d.recheck = time.Time{}
		if d.placement != nil {
			d.onPlacement(ctx, d.placement)
		}
	case *promoteDue:
		d.onPromoteDue(ctx, msg)
	case *focalpb.ConferenceState:
		d.onState(ctx, msg)
	case *focalpb.EncodedConferenceState:
		st := &focalpb.ConferenceState{}
		if err := proto.Unmarshal(msg.State, st); err != nil {
			d.log.Error("replicated state unreadable", "err", err)
			return
		}
		d.onState(ctx, st)
	case *focalpb.ShardSession:
		d.onShardSession(ctx, msg)
	case *conference.Barrier:
		d.onBarrier(ctx, msg)
	case *focalpb.SessionQuery:
		d.onSessionQuery(ctx, msg)
	case *focalpb.ContactQuery:
		d.onContactQuery(ctx, msg)
	case askHolderAgain:
		if _, waiting := d.asking[msg.id]; waiting {
			d.askHolder(ctx, msg.id, msg.holder)
		}
	case *focalpb.RoomQuery:
		d.onRoomQuery(ctx, msg)
	case *focalpb.ReachCheck:
		ctx.Respond(&focalpb.ReachAck{})
	case inheritDue:
		d.releaseInherited(ctx, msg.room)
	case *SessionUp:
		d.onSessionUp(ctx, msg)
	case *SessionDown:
		d.onSessionDown(ctx, msg)
	case *SessionReleased:
		d.onSessionReleased(ctx, msg)
	case *SessionEnded:
		d.onSessionEnded(ctx, msg)
	case *focalpb.ForwardedStanza:
		d.onForwarded(ctx, msg)
	case forgetReleased:
		delete(d.releasedSessions, msg.id)
	case *focalpb.ListRooms:
		ctx.Respond(d.roomList())
	case *conference.Stanza:
		d.received.note(msg.At)
		if d.received.taken(msg.At.Session, msg.At.Pos) {
			d.log.Info("stanza the server sent again after its forward was taken; dropped",
				"room", msg.Room, "session", msg.At.Session, "position", msg.At.Pos, "kind", msg.El.Name.Local)
			return
		}
		d.route(ctx, msg)
	case *conference.StreamUp:
		// The node's own client stream: conferences are on it only
		// outside a cluster.
		d.addr = msg.Addr
		if d.cfg.Sessions != nil {
			return
		}
		for _, r := range d.rooms {
			ctx.Send(r.pid, msg)
		}
	case *bridge.Down, *bridge.Up, *conference.VNodeUp:
		for _, r := range d.rooms {
			ctx.Send(r.pid, msg)
		}
	case *conference.StreamDown:
		d.addr = ""
		if d.cfg.Sessions != nil {
			return
		}
		for _, r := range d.rooms {
			ctx.Send(r.pid, msg)
		}
	case *ListConferences:
		list := &Conferences{Rooms: make(map[string]*actor.PID, len(d.rooms))}
		for name, r := range d.rooms {
			list.Rooms[name] = r.pid
		}
		ctx.Respond(list)
	case *conference.Ended:
		// Settled whenever it arrives: the directory may have seen the
		// conference stop (a system message, ahead of this one) already.
		d.linkRoomEnded(msg.Room, ctx.Sender().Id, msg.HandedOver, msg.HandedTo)
		if r := d.rooms[msg.Room]; r != nil && r.pid.Equal(ctx.Sender()) {
			d.forgetEnded(ctx, msg.Room, r)
		}
	case *conference.HandOverAborted:
		d.onHandOverAborted(ctx, msg, ctx.Sender())
	case *conference.StandbyGaveUp:
		d.onStandbyGaveUp(ctx, msg)
	case *actor.Terminated:
		if room, ok := d.byPID[msg.Who.Id]; ok {
			delete(d.byPID, msg.Who.Id)
			if r := d.rooms[room]; r != nil && r.pid.Equal(msg.Who) {
				if r.handingOff != "" {
					// Its Ended, posted before it stopped, may still be
					// queued behind this system message, and says where
					// the room went: until then a stanza for the room
					// must be held here (route), not answered "no
					// conference". So the room waits for Ended, or for
					// endedWait if the conference failed without one
					// (stoppedHandingOver).
					self, root, pid := ctx.Self(), ctx.ActorSystem().Root, msg.Who
					time.AfterFunc(endedWait, func() { root.Send(self, stoppedHandingOver{room: room, pid: pid}) })
					return
				}
				d.forgetEnded(ctx, room, r)
			}
		}
	case stoppedHandingOver:
		// No Ended came (the conference failed): route what was held.
		if r := d.rooms[msg.room]; r != nil && r.pid.Equal(msg.pid) {
			d.forgetEnded(ctx, msg.room, r)
		}
	case *actor.Stopped:
		// The conferences have stopped (and left their rooms, unless
		// handed over); the sessions go with the directory.
		for _, l := range d.links {
			d.closeLink(l)
		}
	}
}

// spawn starts a conference for room: driven from here, or, with a state,
// standing by for the node that sent it.
// serve answers a conference request for a room this node owns, on
// behalf of to: its conference answers, started first if there is none —
// unless it may be on its way here (inherit.go), when mayHold holds the
// request.
func (d *directory) serve(ctx actor.Context, req *focalpb.ConferenceRequest, to *actor.PID, mayHold bool) {
	r := d.rooms[req.Room]
	if r == nil {
		if _, remote := d.remoteOwner(req.Room); remote {
			// Forwarded here by a node whose view names this one, but this
			// one's view names another owner, and it has no conference for
			// the room: starting one would make two.
			respond(ctx, to, &focalpb.ConferenceResponse{Room: req.Room, Ready: false})
			return
		}
		if mayHold && d.holdInherited(ctx, req, to) {
			return
		}
		if refused := d.mayCreate(req); refused != nil {
			d.log.Info("conference request refused", "room", req.Room, "condition", refused.Condition, "text", refused.Text)
			respond(ctx, to, &focalpb.ConferenceResponse{Room: req.Room, Error: refused})
			return
		}
		r = d.spawn(ctx, req.Room, nil)
		d.place(ctx, req.Room, r)
	}
	if owner, ok := d.standbysOwner(r, req); ok {
		// The owner is alive and heard here: it answers at once, where
		// the standby would hold the request until a promotion that may
		// never come (the node that sent it here may not reach the
		// owner). Once: the owner serves it where it lands.
		passed := proto.Clone(req).(*focalpb.ConferenceRequest)
		passed.Forwarded, passed.Relayed = true, true
		d.forwardFor(ctx, to, owner, passed)
		return
	}
	ctx.RequestWithCustomSender(r.pid, req, to)
}

// standbysOwner is the owner a request for r's room goes to instead of
// r: r stands by for it, it is a member heard lately whose departure
// nobody is acting on, and the request was forwarded here by another node
// and not passed on before.
func (d *directory) standbysOwner(r *entry, req *focalpb.ConferenceRequest) (cluster.Member, bool) {
	if !r.standby || r.owner == "" || r.owner == d.self || r.promotePending || r.promoteDue || !req.Forwarded || req.Relayed {
		return cluster.Member{}, false
	}
	return d.member(r.owner)
}

// respond answers a request on behalf of to, who may be nobody (a request
// that wants no answer).
func respond(ctx actor.Context, to *actor.PID, res *focalpb.ConferenceResponse) {
	if to != nil {
		ctx.Send(to, res)
	}
}

func (d *directory) spawn(ctx actor.Context, room string, standby *focalpb.ConferenceState) *entry {
	wire, addr, sessionID := d.wire, d.addr, ""
	var l *link // the shard session it is driven on, in a cluster
	switch {
	case standby != nil:
		wire, addr = nil, ""
	case d.cfg.Sessions != nil:
		l = d.sessionFor(room)
		wire, addr, sessionID = l.s, "", l.session
		if l.up {
			addr = l.addr
		}
	}
	props := conference.Props(d.cfg.Conference, conference.Start{
		Room: room, Wire: wire, BridgeWire: d.wire, Addr: addr, Session: sessionID, Standby: standby,
	})
	pid := ctx.SpawnPrefix(props, room)
	if l != nil {
		l.rooms[room] = pid.Id
		d.roomLink[room] = l.id
	}
	r := &entry{pid: pid, standby: standby != nil}
	d.rooms[room] = r
	d.byPID[pid.Id] = room
	return r
}

func (d *directory) forget(room string) {
	d.setStandbySession(room, "")
	delete(d.rooms, room)
}

// forgetEnded forgets the room of a conference that has stopped, then
// routes what was kept for it while it handed over: behind the final state
// it sent, on to the new owner (movedTo), or answered if it went nowhere.
func (d *directory) forgetEnded(ctx actor.Context, room string, r *entry) {
	d.forget(room)
	for _, held := range r.held {
		d.route(ctx, held)
	}
}

// stoppedHandingOver: the conference of room, pid, stopped while handing
// over or letting go, endedWait ago; its Ended should have come by then.
// Without the wait, a stanza for the room was routed before Ended said
// where it went, and answered "no conference", then answered again by the
// next driver (the flapping and outbound partitions: two requests in a
// run).
type stoppedHandingOver struct {
	room string
	pid  *actor.PID
}

// endedWait is how long a room whose conference stopped while handing off
// waits for the conference's Ended: it is posted before the stop, so it
// is queued already, unless the conference failed.
const endedWait = time.Second

// entry is the directory's record of one room it has a conference actor
// for.
type entry struct {
	pid     *actor.PID
	standby bool // the conference stands by for another node
	// While standing by: the node that replicates it here ("" once
	// orphaned), the resumption id of its focus session, and where its
	// promotion delay stands.
	owner          string
	session        string
	promotePending bool // the delay runs
	promoteDue     bool // it ran out: promote if still owner
	// While driven: the node told to stand by, and the node it is being
	// handed to (or cutOff).
	replica    string
	handingOff string
	waitingFor bool // kept until its owner is in steady contact (logged once)
	// held: stanzas for the room read while it is handed to another
	// node or let go, routed again once the conference has ended (route).
	held []*conference.Stanza
}

// handingToNode says whether the conference is being handed over to
// another node (not let go, nor stopped for a session driven elsewhere).
func (r *entry) handingToNode() bool {
	return r.handingOff != "" && r.handingOff != cutOff && r.handingOff != elsewhere
}

// route passes a stanza read on a session to its room's conference; or,
// while the conference hands over to another node or is let go, keeps it
// until the conference has ended and then passes it on behind the final
// state (conference/handover.go), or keeps it back (strand); or passes it
// on to where the room went.
func (d *directory) route(ctx actor.Context, msg *conference.Stanza) {
	// The trace is built only when debug lines are on: this runs for
	// every stanza of every conference.
	tracing := d.log.Enabled(context.Background(), slog.LevelDebug)
	trace := func(how string) {
		if tracing {
			d.log.Debug("stanza routed", "room", msg.Room, "how", how, "id", msg.El.AttrValue("id"), "session", msg.At.Session, "position", msg.At.Pos)
		}
	}
	if r := d.rooms[msg.Room]; r != nil {
		if r.handingToNode() || r.handingOff == cutOff {
			// The conference is stopping: what it was given now would
			// be lost with it, though the session counts it.
			trace("held while handing over")
			r.held = append(r.held, msg)
			return
		}
		trace("to the conference")
		ctx.Send(r.pid, msg)
		return
	}
	if to := d.movedTo(msg.Room); to != nil {
		// Handed over, and its session not yet released: the new
		// owner answers it.
		trace("passed on to " + to.Address)
		ctx.Send(to, &focalpb.ForwardedStanza{Room: msg.Room, Xml: msg.El.String(), Session: msg.At.Session, Position: msg.At.Pos})
		return
	}
	if d.passOnReleased(ctx, msg) {
		return
	}
	if d.strand(msg) {
		trace("kept back")
		return
	}
	trace("no conference")
	// An occupant talking to a focus that is not in its room (any more):
	// say so rather than leave it waiting.
	if xmpp.IsIQRequest(msg.El) {
		var via interface{ Send(*xmpp.Element) error } = d.wire
		if msg.Via != nil {
			via = msg.Via
		}
		_ = via.Send(xmpp.ErrorFor(msg.El, xmpp.NewStanzaError(xmpp.ItemNotFound, "no conference for "+msg.Room)))
	}
}

// onForwarded takes a stanza the previous owner of a room passed on,
// unless the server sent it to this node too (see received).
func (d *directory) onForwarded(ctx actor.Context, msg *focalpb.ForwardedStanza) {
	el, err := xmpp.Parse([]byte(msg.Xml))
	if err != nil {
		d.log.Warn("unreadable forwarded stanza", "room", msg.Room, "err", err)
		return
	}
	since, held := d.holder(msg.Session)
	if msg.Session != "" && d.received.got(msg.Session, msg.Position, since, held) {
		d.log.Info("forwarded stanza is a copy of one the server sent here; dropped",
			"room", msg.Room, "session", msg.Session, "position", msg.Position, "kind", el.Name.Local)
		return
	}
	if r := d.rooms[msg.Room]; r != nil {
		d.received.took(msg.Session, msg.Position)
		d.log.Debug("forwarded stanza to the conference", "room", msg.Room, "id", el.AttrValue("id"), "session", msg.Session, "position", msg.Position, "standby", r.standby)
		ctx.Send(r.pid, &conference.Stanza{Room: msg.Room, El: el})
		return
	}
	d.log.Warn("forwarded stanza for a room with no conference here; dropped", "room", msg.Room, "id", el.AttrValue("id"), "session", msg.Session, "position", msg.Position)
}

// strand keeps back a stanza for a room let go with nobody to pass it to
// (cut off from the cluster), on a session this node still reads: nothing
// here acts on it, and answering it "no conference" would tell the
// participant what a failover must hide. The session's barriers go
// unanswered from then on (onBarrier), so its acknowledgement, and the h
// its successor resumes from, stay below the stanza, and the server sends
// it again to whoever drives the room next. The flapping, stall and
// inbound tests lost the few requests that reached a node between letting
// its conferences go and releasing their session.
func (d *directory) strand(msg *conference.Stanza) bool {
	l := d.links[d.roomLink[msg.Room]]
	if l == nil || msg.At.Session == "" || msg.At.Session != l.session {
		return false
	}
	if pid, handed := l.handed[msg.Room]; !handed || pid != nil {
		return false
	}
	if !l.stranded {
		d.log.Warn("a stanza for a room let go reached its session; holding the session's acknowledgement so that its successor gets it again",
			"room", msg.Room, "session", l.id, "position", msg.At.Pos)
	}
	l.stranded = true
	return true
}

// movedTo is the directory a room was handed to while the session that is
// its focus occupant is still held here.
func (d *directory) movedTo(room string) *actor.PID {
	l := d.links[d.roomLink[room]]
	if l == nil {
		return nil
	}
	return l.handed[room]
}
