package directory

import (
	"slices"

	"focal/actors/conference"
)

// A node that reads a stanza on a shard session for a room it handed over
// passes it to the node the room went to (ForwardedStanza). That is the
// only copy when the receiver resumes the session from the sender's
// release, whose h counts the stanza. But a forward can also reach a node
// that took the session over from a lower h: the sender was cut off, and
// its forward waited in the link to the receiver until the partition
// healed. The server sent that node the stanza itself, and acting on the
// forward as well answered requests twice (the both-ways partition test).
// So a node remembers, per server session, the stretches of positions its
// streams of it were sent (from the h each resumed with to the last stanza
// read), and which stream holds it now (everything above the h it resumed
// from), and drops a forward of any of those positions.
//
// The other way round too: a forward can come first, to a standby that
// buffers it, and the same stanza again from the server once the node has
// resumed the session from an h below it (a node cut off passes on what it
// reads on letting go, and its successor resumes from the h of its own
// last state when the release's does not reach it). So a node also
// remembers the positions of the forwards it took, and drops a stanza the
// server sends it at one of them.

// stretch is the positions one stream of a server session was sent: those
// above since, up to to.
type stretch struct{ since, to uint32 }

// Bounds of what is remembered: the latest streams of each server session,
// the latest forwards taken of each, and the sessions last seen.
const (
	maxStretches  = 8
	maxForwards   = 256
	maxRemembered = 4096
)

// received is what the server sent this node's streams, and the positions
// of the forwards this node took, by resumption id.
type received struct {
	stretches map[string][]stretch
	forwards  map[string][]uint32
	order     []string // resumption ids by first sight, to forget the oldest
}

// remember makes room for session, forgetting the oldest one seen if need
// be.
func (r *received) remember(session string) {
	if r.stretches == nil {
		r.stretches, r.forwards = make(map[string][]stretch), make(map[string][]uint32)
	}
	if _, seen := r.stretches[session]; seen {
		return
	}
	if _, seen := r.forwards[session]; seen {
		return
	}
	if len(r.order) == maxRemembered {
		delete(r.stretches, r.order[0])
		delete(r.forwards, r.order[0])
		r.order = slices.Delete(r.order, 0, 1)
	}
	r.order = append(r.order, session)
}

// took records a forward acted on: position pos of session.
func (r *received) took(session string, pos uint32) {
	if session == "" || pos == 0 {
		return
	}
	r.remember(session)
	list := r.forwards[session]
	if len(list) == maxForwards {
		list = slices.Delete(list, 0, 1)
	}
	r.forwards[session] = append(list, pos)
}

// taken says whether a forward of position pos of session was acted on
// here.
func (r *received) taken(session string, pos uint32) bool {
	return pos != 0 && slices.Contains(r.forwards[session], pos)
}

// note records a stanza read on a shard session.
func (r *received) note(at conference.StreamPos) {
	if at.Session == "" || at.Pos == 0 {
		return
	}
	r.remember(at.Session)
	list := r.stretches[at.Session]
	if n := len(list); n > 0 && list[n-1].since == at.Since {
		list[n-1].to = max(list[n-1].to, at.Pos)
	} else {
		if n == maxStretches {
			list = slices.Delete(list, 0, 1)
		}
		list = append(list, stretch{since: at.Since, to: at.Pos})
	}
	r.stretches[at.Session] = list
}

// got says whether the server sent position pos of a session to one of
// this node's streams, or will: held says a stream here holds the session
// now, resumed from since, and the server sends it everything above that.
func (r *received) got(session string, pos uint32, since uint32, held bool) bool {
	if held && pos > since {
		return true
	}
	for _, st := range r.stretches[session] {
		if st.since < pos && pos <= st.to {
			return true
		}
	}
	return false
}

// holder is the stream of this node that holds a server session, if one
// does, and the h it resumed the session from.
func (d *directory) holder(session string) (since uint32, held bool) {
	for _, l := range d.links {
		if l.session == session && !l.releasing {
			return l.since, true
		}
	}
	return 0, false
}
