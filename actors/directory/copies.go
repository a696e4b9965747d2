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
// read; the one it holds now, without end) and drops a forward of a
// position inside one.

// stretch is the positions one stream of a server session was sent: those
// above since, up to to.
type stretch struct{ since, to uint32 }

// Bounds of what is remembered: the latest streams of each server session,
// and the sessions last seen.
const (
	maxStretches  = 8
	maxRemembered = 4096
)

// received is what the server sent this node's streams, by resumption id.
type received struct {
	stretches map[string][]stretch
	order     []string // resumption ids by first sight, to forget the oldest
}

// note records a stanza read on a shard session.
func (r *received) note(at conference.StreamPos) {
	if at.Session == "" || at.Pos == 0 {
		return
	}
	if r.stretches == nil {
		r.stretches = make(map[string][]stretch)
	}
	list, seen := r.stretches[at.Session]
	if !seen {
		if len(r.order) == maxRemembered {
			delete(r.stretches, r.order[0])
			r.order = slices.Delete(r.order, 0, 1)
		}
		r.order = append(r.order, at.Session)
	}
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
// this node's streams, or will (held: the latest stream is still this
// node's, and the server sends it everything above where it began).
func (r *received) got(session string, pos uint32, held bool) bool {
	list := r.stretches[session]
	for i, st := range list {
		if st.since < pos && (pos <= st.to || held && i == len(list)-1) {
			return true
		}
	}
	return false
}

// holds says whether one of this node's streams holds the server session.
func (d *directory) holds(session string) bool {
	for _, l := range d.links {
		if l.session == session && !l.releasing {
			return true
		}
	}
	return false
}
