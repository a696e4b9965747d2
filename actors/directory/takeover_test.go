package directory

import (
	"log/slog"
	"testing"

	"focal/proto"
	"focal/xmpp/session"
)

// stubDirectory is a directory with the state takeOver reads, whose
// session opener fails the test: nothing may be resumed.
func stubDirectory(t *testing.T) *directory {
	cfg := DefaultConfig()
	cfg.Conference.Logger = slog.New(slog.DiscardHandler)
	cfg.Sessions = func(id string, shard int, resume session.SMState) ShardSession {
		t.Fatalf("session %s opened to resume %q with h=%d", id, resume.ID, resume.InboundH)
		return nil
	}
	return &directory{
		cfg: cfg, self: "node2", log: cfg.Conference.Logger,
		rooms:    map[string]*entry{"r@c": {standby: true, owner: "node1", session: "S"}},
		links:    map[string]*link{},
		smStates: map[string]*focalpb.ShardSession{"S": {Id: "S", H: 20, Owner: "node1", Final: true}},
		highH:    map[string]uint32{},
		asking:   map[string][]string{},
	}
}

// A node that is handing a session on does not take over a room of that
// session with a state it kept from before: the next holder resumes with
// the state the release ends on, and resuming with an older h would end
// the session at the server (Prosody: "Client acknowledged less stanzas
// than already acknowledged"), which the both-ways partition test showed.
func TestNoTakeoverOfASessionBeingReleased(t *testing.T) {
	d := stubDirectory(t)
	d.links["shard-1.3"] = &link{id: "shard-1.3", session: "S", releasing: true}
	d.takeOver(nil, "r@c")
	if len(d.links) != 1 {
		t.Errorf("links %v, want only the one being released", d.links)
	}
}

// A kept state older than what this node has seen of the session is
// dropped, not resumed with.
func TestNoTakeoverWithAStaleSessionState(t *testing.T) {
	d := stubDirectory(t)
	d.highH["S"] = 146
	d.takeOver(nil, "r@c")
	if _, kept := d.smStates["S"]; kept || len(d.links) != 0 {
		t.Errorf("after a stale state: states %v, links %v", d.smStates, d.links)
	}
}
