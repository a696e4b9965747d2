package selection

import "time"

// regionBased puts each participant on a bridge in or near its region
// (Jicofo's RegionBasedBridgeSelectionStrategy). "Free" below means not
// overloaded for this conference (see policy.overloadedFor); "least loaded"
// is the Bridge.Compare order. The wanted region is the participant's,
// or the local region when the participant's is unknown. It takes the first
// of:
//
//  1. the least loaded free conference bridge in the wanted region;
//  2. the least loaded free conference bridge in the region's group;
//  3. the least loaded free bridge in the region;
//  4. the least loaded free bridge in the region's group;
//  5. the least loaded free conference bridge anywhere;
//  6. the least loaded free bridge anywhere (Jicofo checks only the
//     bridge's own stress here, which lets a conference with no region
//     match pass max-bridge-participants and the per-interval cap);
//  7. the least loaded conference bridge below max-bridge-participants
//     (ignoring stress and the per-interval cap, to place the participant
//     somewhere rather than nowhere);
//  8. the least loaded bridge.
//
// With a local region configured, the wanted region becomes the local one
// when no candidate is in the participant's region group, and for a new
// conference's first participant when its region shares a group with the
// local region (the other participants, most likely local, will join the
// same bridge).
type regionBased struct{ p policy }

// Tiers of the order above, zero-based.
const (
	tierConfInRegion = iota
	tierConfInGroup
	tierInRegion
	tierInGroup
	tierConf
	tierFree
	tierConfNotMaxed
	tierAny
	tierCount
)

func (s regionBased) Select(candidates []*Bridge, conf ConferenceBridges, participantRegion string, now time.Time) *Bridge {
	if b, ok := existing(conf, s.p.multiBridge); ok {
		return b
	}
	region := s.wantedRegion(candidates, len(conf) == 0, participantRegion)
	group := s.p.groupOf(region)
	view := newConfView(conf)
	k := newRanker(now)
	var tiers [tierCount]best
	for _, c := range candidates {
		r := k.rank(c)
		_, cb := view.find(c)
		free := !s.p.overloadedFor(r, cb, now)
		here := inRegion(region, c.Region())
		near := group.has(c.Region())
		if cb != nil {
			if free && here {
				tiers[tierConfInRegion].offer(r)
			}
			if free && near {
				tiers[tierConfInGroup].offer(r)
			}
			if free {
				tiers[tierConf].offer(r)
			}
			if !s.p.maxed(cb) {
				tiers[tierConfNotMaxed].offer(r)
			}
		}
		if free && here {
			tiers[tierInRegion].offer(r)
		}
		if free && near {
			tiers[tierInGroup].offer(r)
		}
		if free {
			tiers[tierFree].offer(r)
		}
		tiers[tierAny].offer(r)
	}
	for i := range tiers {
		if tiers[i].ok {
			return tiers[i].bridge()
		}
	}
	return nil
}

// wantedRegion applies the local-region fallbacks described on regionBased.
func (s regionBased) wantedRegion(candidates []*Bridge, initial bool, participantRegion string) string {
	local := s.p.localRegion
	region := participantRegion
	if region == "" {
		region = local
	}
	if local == "" {
		return region
	}
	group := s.p.groupOf(region)
	wanted := region
	if initial && region != local && group.has(local) {
		wanted = local
	}
	for _, c := range candidates {
		if group.has(c.Region()) {
			return wanted
		}
	}
	return local
}
