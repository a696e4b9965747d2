package node

import (
	"crypto/tls"
	"sort"

	"focal/actors/conference"
	"focal/actors/ingress"
	"focal/xmpp"
	"focal/xmpp/session"
)

// spawnVNodeSessions makes the focus's client connection to each
// configured visitor node (they run with the node's other streams). The
// node logs in with its cluster resource, so that the nodes of a cluster
// are sessions of the same occupant in the visitor rooms. What arrives
// goes to the ingress like the main client stream's, marked with the
// connection it came on.
func (n *Node) spawnVNodeSessions() map[string]session.Wire {
	cfg := n.cfg
	if !cfg.Visitors.Enabled {
		return nil
	}
	root := n.system.Root
	n.vnodes = map[string]*session.Session{}
	wires := map[string]session.Wire{}
	for _, vn := range cfg.Visitors.Nodes {
		id := vn.ID
		var tlsCfg *tls.Config
		if cfg.UserTLS {
			tlsCfg = &tls.Config{ServerName: vn.Domain, InsecureSkipVerify: cfg.UserTLSInsecure, MinVersion: tls.VersionTLS12}
		}
		var s *session.Session
		s = session.New(session.Config{
			Name: "vnode-" + vn.ID,
			Dial: session.ClientDialer(session.ClientOptions{
				Addr:     vn.Addr(),
				JID:      vn.User + "/" + cfg.Resource(),
				Password: vn.Password,
				TLS:      tlsCfg,
			}),
			Handler: func(el *xmpp.Element) { root.Send(n.ingress, &ingress.ClientStanza{El: el, Via: s}) },
			State: func(up bool, _ string) {
				if up {
					root.Send(n.directory, &conference.VNodeUp{Node: id})
				}
			},
			Logger: cfg.Logger.With("vnode", vn.ID),
		})
		n.vnodes[vn.ID] = s
		wires[vn.ID] = s
	}
	return wires
}

// vnodeSessions lists the visitor-node connections in id order.
func (n *Node) vnodeSessions() []*session.Session {
	ids := make([]string, 0, len(n.vnodes))
	for id := range n.vnodes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]*session.Session, 0, len(ids))
	for _, id := range ids {
		out = append(out, n.vnodes[id])
	}
	return out
}
