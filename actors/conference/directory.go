package conference

import (
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"

	"focal/actors/bridge"
	"focal/cluster"
	"focal/proto"
	"focal/xmpp"
)

// DirectoryName is the directory's actor name on every node, so that other
// nodes can address it.
const DirectoryName = "conferences"

// directory creates conference actors on the first request for a room and
// routes later requests and stanzas to them. The room → actor map is its own
// state: nothing else reads or writes it.
type directory struct {
	cfg   Config
	wire  Wire
	log   *slog.Logger
	rooms map[string]*actor.PID
	byPID map[string]string // PID id → room, to forget stopped conferences
	addr  string            // the client stream's full JID while it is up

	// Cluster placement (see placement.go); zero when not clustered.
	clustered      bool
	fenced         bool // without quorum: drives nothing
	self           string
	members        []cluster.Member
	standby        map[string]bool   // rooms this node stands by for
	standbyOwner   map[string]string // room → node that replicates it here
	promotePending map[string]bool   // a promotion delay runs
	promoteDue     map[string]bool   // the delay ran out: promote if still owner
	replicaOf      map[string]string // room → node told to stand by
	handingOff     map[string]string // room → node it is being handed to
}

// NewDirectory returns the props of a node's conference directory.
func NewDirectory(cfg Config, wire Wire) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &directory{
			cfg:            cfg,
			wire:           wire,
			log:            cfg.Logger.With("actor", DirectoryName),
			rooms:          make(map[string]*actor.PID),
			byPID:          make(map[string]string),
			standby:        make(map[string]bool),
			standbyOwner:   make(map[string]string),
			promotePending: make(map[string]bool),
			promoteDue:     make(map[string]bool),
			replicaOf:      make(map[string]string),
			handingOff:     make(map[string]string),
		}
	})
}

func (d *directory) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *focalpb.ConferenceRequest:
		if d.fenced {
			ctx.Respond(&focalpb.ConferenceResponse{Room: msg.Room, Error: &focalpb.StanzaError{
				Type: "wait", Condition: xmpp.ServiceUnavailable, Text: "this focus node is cut off from its cluster"}})
			return
		}
		if owner, remote := d.remoteOwner(msg.Room); remote && !msg.Forwarded {
			msg.Forwarded = true
			ctx.Forward(directoryOf(owner))
			return
		}
		pid := d.rooms[msg.Room]
		if pid == nil {
			pid = d.spawn(ctx, msg.Room, nil)
			d.place(ctx, msg.Room, pid)
		}
		ctx.Forward(pid)
	case *Placement:
		d.onPlacement(ctx, msg)
	case *promoteDue:
		d.onPromoteDue(ctx, msg)
	case *focalpb.ConferenceState:
		d.onState(ctx, msg)
	case *standbyJoined:
		if owner, ok := d.member(msg.owner); ok {
			ctx.Send(directoryOf(owner), &focalpb.StandbyJoined{Room: msg.room, Node: d.self})
		}
	case *focalpb.StandbyJoined:
		if pid := d.rooms[msg.Room]; pid != nil {
			ctx.Send(pid, msg)
		}
	case *focalpb.ListRooms:
		ctx.Respond(d.roomList())
	case *Stanza:
		if pid := d.rooms[msg.Room]; pid != nil {
			ctx.Send(pid, msg)
			return
		}
		// An occupant talking to a focus that is not in its room (any more):
		// say so rather than leave it waiting.
		if xmpp.IsIQRequest(msg.El) {
			_ = d.wire.Send(xmpp.ErrorFor(msg.El, xmpp.NewStanzaError(xmpp.ItemNotFound, "no conference for "+msg.Room)))
		}
	case *StreamUp:
		d.addr = msg.Addr
		for _, pid := range d.rooms {
			ctx.Send(pid, msg)
		}
	case *bridge.Down, *bridge.Up:
		for _, pid := range d.rooms {
			ctx.Send(pid, msg)
		}
	case *StreamDown:
		d.addr = ""
		for _, pid := range d.rooms {
			ctx.Send(pid, msg)
		}
	case *ListConferences:
		list := &Conferences{}
		for _, pid := range d.rooms {
			list.PIDs = append(list.PIDs, pid)
		}
		ctx.Respond(list)
	case *ended:
		if pid := d.rooms[msg.room]; pid != nil && pid.Equal(ctx.Sender()) {
			d.forget(msg.room)
		}
	case *actor.Terminated:
		if room, ok := d.byPID[msg.Who.Id]; ok {
			delete(d.byPID, msg.Who.Id)
			if pid := d.rooms[room]; pid != nil && pid.Equal(msg.Who) {
				d.forget(room)
			}
		}
	}
}

func (d *directory) spawn(ctx actor.Context, room string, standby *focalpb.ConferenceState) *actor.PID {
	props := actor.PropsFromProducer(func() actor.Actor { return newConference(d.cfg, d.wire, room, d.addr, standby) })
	pid := ctx.SpawnPrefix(props, room)
	d.rooms[room] = pid
	d.byPID[pid.Id] = room
	d.standby[room] = standby != nil
	return pid
}

func (d *directory) forget(room string) {
	delete(d.rooms, room)
	delete(d.standby, room)
	delete(d.standbyOwner, room)
	delete(d.replicaOf, room)
	delete(d.handingOff, room)
}
