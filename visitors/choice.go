package visitors

import "time"

// ChooseNode picks the visitor node for a redirect at now, given the nodes
// the conference uses: among those, the one with the fewest visitors
// (counting redirects of the last JoinLatency) while under
// MaxVisitorsPerNode; else the first configured node the conference does
// not use yet; else, every node being full, the least full one. It returns
// false only when no node is configured.
//
// Jicofo picks the unused node at random; the configured order is used here
// so that operators can rank their nodes and tests can tell which one comes.
func (c Config) ChooseNode(used []Usage, now time.Time) (string, bool) {
	c = c.WithDefaults()
	best, bestLoad := "", -1
	inUse := make(map[string]bool, len(used))
	for _, u := range used {
		if _, ok := c.Node(u.Node); !ok {
			continue // a node no longer configured takes nobody new
		}
		inUse[u.Node] = true
		load := u.Visitors + c.recent(u.Redirects, now)
		if bestLoad < 0 || load < bestLoad {
			best, bestLoad = u.Node, load
		}
	}
	if bestLoad >= 0 && bestLoad < c.MaxVisitorsPerNode {
		return best, true
	}
	for _, n := range c.Nodes {
		if !inUse[n.ID] {
			return n.ID, true
		}
	}
	return best, bestLoad >= 0
}

// recent counts the redirects of the last JoinLatency.
func (c Config) recent(redirects []time.Time, now time.Time) int {
	n := 0
	for _, t := range redirects {
		if now.Sub(t) < c.JoinLatency {
			n++
		}
	}
	return n
}

// Prune drops the redirects that no longer count at now.
func (c Config) Prune(redirects []time.Time, now time.Time) []time.Time {
	c = c.WithDefaults()
	kept := redirects[:0]
	for _, t := range redirects {
		if now.Sub(t) < c.JoinLatency {
			kept = append(kept, t)
		}
	}
	return kept
}
