package visitors

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Defaults of Config, Jicofo's (its reference.conf, jicofo.visitors).
const (
	// DefaultMaxParticipants: main-room participants (recorders and
	// transcribers not counted) from which requests go to visitor nodes.
	DefaultMaxParticipants = 50
	// DefaultMaxVisitorsPerNode: a used node is chosen again while it holds
	// fewer visitors than this (a soft limit: once every node is this full,
	// the least full takes more).
	DefaultMaxVisitorsPerNode = 500
	// DefaultJoinLatency: a redirected client counts as a visitor of its
	// node for this long, until its join shows up (Jicofo's
	// vnode-join-latency-interval).
	DefaultJoinLatency = 60 * time.Second
)

// Config of visitor nodes. The zero value is disabled.
type Config struct {
	Enabled            bool
	MaxParticipants    int           // 0: DefaultMaxParticipants
	MaxVisitorsPerNode int           // 0: DefaultMaxVisitorsPerNode
	JoinLatency        time.Duration // 0: DefaultJoinLatency
	Nodes              []Node
}

// Node is one visitor node: a Prosody running Jitsi's mod_fmuc.
type Node struct {
	// ID names the node to clients (the response's vnode) and to the main
	// Prosody (connect-vnode): Jitsi's mod_visitors reaches the node's
	// conference MUC as conference.<ID>.meet.jitsi.
	ID   string
	Host string // of the node's client-to-server listener
	Port int
	// Domain is the node's XMPP domain; rooms are on MUC there. A room's
	// visitor room is its main JID with the main domain replaced by Domain.
	Domain string
	MUC    string
	// User (user@domain) and Password: the focus's client login on the
	// node, which must be an admin there.
	User     string
	Password string
}

// Addr is the node's client-to-server address.
func (n Node) Addr() string { return fmt.Sprintf("%s:%d", n.Host, n.Port) }

// WithDefaults returns c with every zero knob set to its default.
func (c Config) WithDefaults() Config {
	if c.MaxParticipants == 0 {
		c.MaxParticipants = DefaultMaxParticipants
	}
	if c.MaxVisitorsPerNode == 0 {
		c.MaxVisitorsPerNode = DefaultMaxVisitorsPerNode
	}
	if c.JoinLatency == 0 {
		c.JoinLatency = DefaultJoinLatency
	}
	return c
}

// Validate reports the first problem of an enabled configuration.
func (c Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	if len(c.Nodes) == 0 {
		return errors.New("visitors: enabled without nodes")
	}
	if c.MaxParticipants < 0 || c.MaxVisitorsPerNode < 0 || c.JoinLatency < 0 {
		return errors.New("visitors: max-participants, max-visitors-per-node and join latency must not be negative")
	}
	seen := map[string]bool{}
	for i, n := range c.Nodes {
		switch {
		case n.ID == "" || strings.ContainsAny(n.ID, "@/. "):
			return fmt.Errorf("visitors: node %d: id %q must be a non-empty name without '@', '/', '.' or spaces", i, n.ID)
		case seen[n.ID]:
			return fmt.Errorf("visitors: node id %q given twice", n.ID)
		case n.Host == "" || n.Port <= 0 || n.Port > 65535:
			return fmt.Errorf("visitors: node %s: host and port (1-65535) are required", n.ID)
		case n.Domain == "" || n.MUC == "":
			return fmt.Errorf("visitors: node %s: domain and muc are required", n.ID)
		case !strings.Contains(n.User, "@") || n.Password == "":
			return fmt.Errorf("visitors: node %s: user (user@domain) and password are required", n.ID)
		}
		seen[n.ID] = true
	}
	return nil
}

// Node returns the configured node with id.
func (c Config) Node(id string) (Node, bool) {
	for _, n := range c.Nodes {
		if n.ID == id {
			return n, true
		}
	}
	return Node{}, false
}

// NodeOfMUC returns the node whose conference MUC service is muc.
func (c Config) NodeOfMUC(muc string) (Node, bool) {
	for _, n := range c.Nodes {
		if strings.EqualFold(n.MUC, muc) {
			return n, true
		}
	}
	return Node{}, false
}
