package selection

import "time"

// split spreads a conference over as many bridges as it can, for testing
// cascades (Jicofo's SplitBridgeSelectionStrategy): the least loaded bridge
// the conference does not use yet, else the conference's candidate bridge
// with the fewest of its participants. It cascades whether or not Octo is
// enabled.
type split struct{ p policy }

func (s split) Select(candidates []*Bridge, conf ConferenceBridges, _ string, now time.Time) *Bridge {
	if b, ok := existing(conf, true); ok {
		return b
	}
	view := newConfView(conf)
	var fresh best
	var fewest *Bridge
	fewestAt, fewestN := -1, 0
	k := newRanker(now)
	for _, c := range candidates {
		i, cb := view.find(c)
		if cb == nil {
			fresh.offer(k.rank(c))
			continue
		}
		// Ties go to the bridge the conference listed first.
		if fewest == nil || cb.Participants < fewestN || (cb.Participants == fewestN && i < fewestAt) {
			fewest, fewestAt, fewestN = c, i, cb.Participants
		}
	}
	if fresh.ok {
		return fresh.bridge()
	}
	return fewest
}
