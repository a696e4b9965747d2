package selection

import "time"

// single keeps a whole conference on one bridge (Jicofo's
// SingleBridgeSelectionStrategy, the default). The first participant gets
// the least loaded bridge in its region, else the least loaded bridge;
// everyone after joins that bridge, however loaded it is.
type single struct{ p policy }

func (s single) Select(candidates []*Bridge, conf ConferenceBridges, participantRegion string, now time.Time) *Bridge {
	if b, ok := existing(conf, s.p.multiBridge); ok {
		return b
	}
	if len(conf) == 0 {
		var local, any best
		k := newRanker(now)
		for _, c := range candidates {
			r := k.rank(c)
			any.offer(r)
			if inRegion(participantRegion, c.Region()) {
				local.offer(r)
			}
		}
		if local.ok {
			return local.bridge()
		}
		return any.bridge()
	}
	// The conference may cascade, but this strategy never does.
	if len(conf) != 1 {
		return nil
	}
	if b := conf[0].Bridge; b.Operational(now) {
		return b
	}
	return nil
}
