package directory

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"focal/actors/conference"
	"focal/proto"
)

// A shard session's stream hands each stanza it reads to the ingress,
// which passes it on to the directory; the release of the session comes to
// the directory straight from the session. So stanzas the stream read
// just before it was cut can reach the directory after SessionReleased,
// when it no longer knows the session. They are counted in the h the
// session was released with, and the node that resumes it will never get
// them from the server: they are passed on to where the rooms went (the
// both-ways cut under CPU load lost a request in two runs of ten so, and
// with it a conference's last one).

// releasedMemory is how long a released session's rooms are remembered:
// far longer than a stanza spends between the stream and the directory.
const releasedMemory = 30 * time.Second

// releasedSession is where a released session's rooms went: each handed
// room to its new owner's directory, the rest to the session's.
type releasedSession struct {
	rooms map[string]*actor.PID
	to    *actor.PID
}

// forgetReleased ends the memory of the released session ID.
type forgetReleased struct{ id string }

// rememberReleased keeps where the rooms of the released session id went.
func (d *directory) rememberReleased(ctx actor.Context, id string, rooms map[string]*actor.PID, to *actor.PID) {
	if d.releasedSessions == nil {
		d.releasedSessions = make(map[string]*releasedSession)
	}
	d.releasedSessions[id] = &releasedSession{rooms: rooms, to: to}
	self, root := ctx.Self(), ctx.ActorSystem().Root
	time.AfterFunc(releasedMemory, func() { root.Send(self, forgetReleased{id: id}) })
}

// passOnReleased passes on a stanza of a session released meanwhile; false
// if msg is of no such session.
func (d *directory) passOnReleased(ctx actor.Context, msg *conference.Stanza) bool {
	r := d.releasedSessions[msg.At.Session]
	if r == nil {
		return false
	}
	to := r.rooms[msg.Room]
	if to == nil {
		to = r.to
	}
	d.log.Info("stanza read before its session's release passed on", "room", msg.Room, "session", msg.At.Session, "position", msg.At.Pos, "to", to.Address)
	ctx.Send(to, &focalpb.ForwardedStanza{Room: msg.Room, Xml: msg.El.String(), Session: msg.At.Session, Position: msg.At.Pos})
	return true
}
