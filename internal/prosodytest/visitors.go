package prosodytest

import (
	"fmt"
	"sort"
	"strings"
	"testing"
)

// VisitorPair is a main Prosody and one visitor node, both loading Jitsi's
// own visitor modules (mod_visitors and mod_visitors_component on the main
// one, mod_fmuc on the node), linked server to server on loopback.
type VisitorPair struct {
	Main  *Server
	VNode *Server
	// VNodeID is the node's id as the focus names it in connect-vnode:
	// Jitsi's modules derive the node's domain from it (<id>.meet.jitsi),
	// so the main domain is DefaultDomain and the node's is VNodeID + "." + DefaultDomain.
	VNodeID string
}

// VisitorsComponent is the main Prosody's visitors component, which takes
// connect-vnode and disconnect-vnode from the focus.
func (p *VisitorPair) VisitorsComponent() string { return "visitors." + p.Main.Domain }

// StartVisitorPair starts a main Prosody (a Jitsi deployment with Jitsi's
// modules from jitsiPlugins, see JitsiPluginsDir) and a visitor node with
// id vnodeID. Each has its own focus and jvb accounts (on its own auth
// domain), ports and directory; their s2s listeners accept only each
// other, on 127.0.0.1. Both are stopped at cleanup.
func StartVisitorPair(tb testing.TB, jitsiPlugins, vnodeID string) *VisitorPair {
	tb.Helper()
	ports, err := freePorts(2)
	if err != nil {
		tb.Fatalf("prosodytest: %v", err)
	}
	mainS2S, nodeS2S := ports[0], ports[1]
	mainDomain := DefaultDomain
	nodeDomain := vnodeID + "." + mainDomain
	mainHosts := []string{mainDomain, "auth." + mainDomain, "conference." + mainDomain,
		"visitors." + mainDomain, "polls." + mainDomain}
	nodeHosts := []string{nodeDomain, "auth." + nodeDomain, "conference." + nodeDomain}

	// The node first: the main Prosody connects to it only when the focus
	// connects a room, but the node must be up by then.
	vnode := Start(tb, Options{
		Domain:       nodeDomain,
		JitsiPlugins: jitsiPlugins,
		visitors:     "vnode",
		mainAddr:     mainDomain,
		s2sPort:      nodeS2S,
		s2sPeers:     peersOn(mainHosts, mainS2S),
	})
	main := Start(tb, Options{
		Domain:       mainDomain,
		JitsiPlugins: jitsiPlugins,
		visitors:     "main",
		s2sPort:      mainS2S,
		s2sPeers:     peersOn(nodeHosts, nodeS2S),
	})
	return &VisitorPair{Main: main, VNode: vnode, VNodeID: vnodeID}
}

func peersOn(hosts []string, port int) map[string]int {
	peers := make(map[string]int, len(hosts))
	for _, h := range hosts {
		peers[h] = port
	}
	return peers
}

// peerList renders peers as scripts/prosody.sh takes them: host=port,...
func peerList(peers map[string]int) string {
	list := make([]string, 0, len(peers))
	for host, port := range peers {
		list = append(list, fmt.Sprintf("%s=%d", host, port))
	}
	sort.Strings(list)
	return strings.Join(list, ",")
}
