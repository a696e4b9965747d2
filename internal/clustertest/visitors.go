package clustertest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
)

// VisitorOptions configure the visitor node of a cluster.
type VisitorOptions struct {
	ID string // the node's id (its domain is <ID>.meet.jitsi)
	// MaxParticipants is visitors.max-participants (0: the default, 50).
	MaxParticipants int
}

// writeVisitorsConfig writes the nodes' config file with the visitors:
// section naming c.VNode.
func (c *Cluster) writeVisitorsConfig(opts VisitorOptions) error {
	host, port, err := net.SplitHostPort(c.VNode.C2SAddr)
	if err != nil {
		return fmt.Errorf("visitor node address: %w", err)
	}
	text := fmt.Sprintf(`visitors:
  enabled: true
  max-participants: %d
  nodes:
    - id: %s
      host: %s
      port: %s
      domain: %s
      muc: %s
      user: focus@%s
      password: %s
`, opts.MaxParticipants, opts.ID, host, port, c.VNode.Domain, c.VNode.MUCDomain(), c.VNode.AuthDomain(), c.VNode.FocusPassword)
	c.config = filepath.Join(c.logDir, "..", "focusnode.yaml")
	if err := os.WriteFile(c.config, []byte(text), 0o644); err != nil {
		return fmt.Errorf("write the nodes' config: %w", err)
	}
	return nil
}
