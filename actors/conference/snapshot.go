package conference

import (
	"slices"

	"github.com/asynkron/protoactor-go/actor"
)

// ListConferences asks the directory for a Conferences reply.
type ListConferences struct{}

// Conferences lists the conference actors of a node.
type Conferences struct{ PIDs []*actor.PID }

// GetSnapshot asks a conference for a Snapshot reply.
type GetSnapshot struct{}

// Snapshot is a copy of a conference's state for debugging views.
type Snapshot struct {
	Room         string           `json:"room"`
	Joined       bool             `json:"joined"`
	Options      Options          `json:"options"`
	Participants []MemberSnapshot `json:"participants"`
}

// MemberSnapshot is one participant in a Snapshot, in join order.
type MemberSnapshot struct {
	Nick        string `json:"nick"`
	JID         string `json:"jid,omitempty"`
	Role        string `json:"role"`
	Affiliation string `json:"affiliation"`
}

func (c *conference) snapshot() Snapshot {
	s := Snapshot{Room: c.room, Joined: c.joined, Options: c.options, Participants: []MemberSnapshot{}}
	members := make([]*member, 0, len(c.members))
	for _, m := range c.members {
		members = append(members, m)
	}
	slices.SortFunc(members, func(a, b *member) int { return a.seq - b.seq })
	for _, m := range members {
		s.Participants = append(s.Participants, MemberSnapshot{Nick: m.nick, JID: m.realJID, Role: m.role, Affiliation: m.affiliation})
	}
	return s
}
