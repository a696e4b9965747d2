package directory

import (
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"focal/cluster"
)

// Contact with other members, the directory's side. Membership says who is
// alive as the cluster agrees, slowly and only roughly: a one-way
// partition keeps a member alive (memberlist's TCP fallback probe gets
// through) or brings it back (it refutes its death by a push/pull it opens
// itself) while it cannot receive anything. What this node can tell on its
// own is whether its probes are acknowledged, which proves both ways work.
// So a conference is handed over only to a member in steady contact. Who
// owns what stays decided by the membership alone, the same on every node
// once views agree: a standby is promoted only when its driver is gone
// from it (see place).

// contactsFresh bounds the age of the contacts read: decisions within one
// message share a read.
const contactsFresh = 50 * time.Millisecond

// contact is this node's contact with a member.
func (d *directory) contact(name string) (cluster.Contact, bool) {
	if d.placement == nil || d.placement.Contacts == nil {
		return cluster.Contact{}, false
	}
	if d.contacts == nil || time.Since(d.contactsRead) > contactsFresh {
		d.contacts, d.contactsRead = d.placement.Contacts(), time.Now()
	}
	c, ok := d.contacts[name]
	return c, ok
}

// steady says whether a conference may be handed over to name: contact
// with it has been unbroken for Config.SteadyContact. Without contact
// information (outside a cluster's placement) every member is steady.
func (d *directory) steady(name string, now time.Time) bool {
	if name == d.self || d.placement == nil || d.placement.Contacts == nil {
		return true
	}
	c, ok := d.contact(name)
	return ok && c.SteadyFor(now, d.cfg.SteadyContact)
}

// inContact says whether name answered this node's probes lately (within
// cluster.ContactGap). Without contact information every member is.
func (d *directory) inContact(name string, now time.Time) bool {
	if name == d.self || d.placement == nil || d.placement.Contacts == nil {
		return true
	}
	c, ok := d.contact(name)
	return ok && c.Within(now, cluster.ContactGap)
}

// silent says whether a member has not answered this node's probes for
// longer than memberlist's failure timeout: had nothing kept it in the
// list (a TCP fallback probe through a one-way partition, say), memberlist
// would have declared it dead. One re-added after its death and not heard
// from since is silent too.
func (d *directory) silent(name string, now time.Time) bool {
	if name == d.self || d.placement == nil || d.placement.Contacts == nil {
		return false
	}
	c, ok := d.contact(name)
	if !ok {
		return false // not a member: membership says gone
	}
	return !c.Within(now, d.placement.FailureTimeout)
}

// unheard says whether a member has sent this node nothing at all (no
// probe, no ack, however late, no gossip; see cluster.Contact.Heard) for
// longer than memberlist's failure timeout. It is silent as well, and more:
// a member that merely answers late (a loaded host) or cannot receive (its
// inbound packets dropped) is silent but not unheard; one whose own
// packets are all dropped, or that is stopped, is both.
func (d *directory) unheard(name string, now time.Time) bool {
	if name == d.self || d.placement == nil || d.placement.Contacts == nil {
		return false
	}
	c, ok := d.contact(name)
	if !ok {
		return false // not a member: membership says gone
	}
	return !c.HeardWithin(now, d.placement.FailureTimeout)
}

// audible is the members conferences are placed on: all of them but those
// unheard (see unheard). memberlist keeps a member alive as long as a TCP
// fallback probe of its own reaches it, which a partition of the packets
// *from* it lets through; it then stays first for its shards forever while
// it drives nothing (it has no quorum: it reaches nobody), and second for
// others, holding their outboxes waiting for acknowledgements that cannot
// come. Placed as if dead, it is replaced as owner and replica by the
// next in each ranking, as memberlist would have done with no fallback.
// Silence is each node's own judgement, so views may differ; see the
// README's cluster design for why that is safe. recheck is the first
// moment a member kept may turn unheard (zero: none is quiet now).
func (d *directory) audible(members []cluster.Member, now time.Time) (out []cluster.Member, recheck time.Time) {
	out = make([]cluster.Member, 0, len(members))
	var unheard []string
	for _, m := range members {
		if d.unheard(m.Name, now) {
			unheard = append(unheard, m.Name)
			continue
		}
		out = append(out, m)
		c, ok := d.contact(m.Name)
		if !ok || m.Name == d.self || c.HeardWithin(now, cluster.ContactGap) {
			continue
		}
		if at := c.Heard.Add(d.placement.FailureTimeout); recheck.IsZero() || at.Before(recheck) {
			recheck = at
		}
	}
	if names := strings.Join(unheard, ","); names != d.unheardNames {
		if names != "" {
			d.log.Warn("placing conferences without unheard members", "unheard", names, "after", d.placement.FailureTimeout)
		} else {
			d.log.Info("no member unheard any more")
		}
		d.unheardNames = names
	}
	return out, recheck
}

// recheckAt has placement looked at again at t (at the latest), when a
// decision that depends on time alone may change.
func (d *directory) recheckAt(ctx actor.Context, t time.Time) {
	if !d.recheck.IsZero() && !d.recheck.After(t) {
		return
	}
	d.recheck = t
	self, root := ctx.Self(), ctx.ActorSystem().Root
	time.AfterFunc(max(time.Until(t), 0)+10*time.Millisecond, func() { root.Send(self, placeCheck{}) })
}

// whenSteady is when contact with name becomes steady if unbroken (zero:
// never, there is none now).
func (d *directory) whenSteady(name string, now time.Time) time.Time {
	c, ok := d.contact(name)
	if !ok || !c.Within(now, cluster.ContactGap) {
		return time.Time{}
	}
	return c.Since.Add(d.cfg.SteadyContact)
}

// draining says whether this node is draining (SIGTERM): it hands its
// conferences over and leaves.
func (d *directory) draining() bool {
	for _, m := range d.members {
		if m.Name == d.self {
			return m.Draining
		}
	}
	return false
}
