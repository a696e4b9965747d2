package selection

import "time"

// intraRegion keeps a conference in one region and adds bridges there only
// for load (Jicofo's IntraRegionBridgeSelectionStrategy). The first
// participant gets a bridge that is not overloaded in its region, else the
// least loaded bridge; that bridge's region becomes the conference's. Later
// participants get, within that region: the least loaded conference bridge
// not overloaded for the conference, else the least loaded bridge not
// overloaded for it, else the least loaded conference bridge. Nothing
// outside the region: nil.
type intraRegion struct{ p policy }

func (s intraRegion) Select(candidates []*Bridge, conf ConferenceBridges, participantRegion string, now time.Time) *Bridge {
	if b, ok := existing(conf, s.p.multiBridge); ok {
		return b
	}
	if len(conf) == 0 {
		var local, any best
		k := newRanker(now)
		for _, c := range candidates {
			r := k.rank(c)
			any.offer(r)
			if !r.overloaded && inRegion(participantRegion, c.Region()) {
				local.offer(r)
			}
		}
		if local.ok {
			return local.bridge()
		}
		return any.bridge()
	}
	// Unlike Jicofo, a conference whose first bridge has no region stays
	// among the bridges with no region instead of getting none.
	region := conf[0].Bridge.Region()
	view := newConfView(conf)
	var inConf, free, anyInConf best
	k := newRanker(now)
	for _, c := range candidates {
		if c.Region() != region {
			continue
		}
		r := k.rank(c)
		_, cb := view.find(c)
		ok := !s.p.overloadedFor(r, cb, now)
		if cb != nil {
			anyInConf.offer(r)
			if ok {
				inConf.offer(r)
			}
		}
		if ok {
			free.offer(r)
		}
	}
	for _, t := range []*best{&inConf, &free, &anyInConf} {
		if t.ok {
			return t.bridge()
		}
	}
	return nil
}
