package selection

import "time"

// Strategy picks a bridge for a new participant among candidates, which the
// Selector has already filtered (operational, not shutting down, right
// version, non-draining and running ones preferred). It returns nil when it
// finds none. Implementations hold no state between calls, must not keep
// candidates or conf, and must run in O(len(candidates)).
type Strategy interface {
	Select(candidates []*Bridge, conf ConferenceBridges, participantRegion string, now time.Time) *Bridge
}

// ConferenceBridge is one bridge a conference already uses.
type ConferenceBridge struct {
	// Bridge must not be nil. It may have left the Selector since.
	Bridge *Bridge
	// Participants is how many of the conference's endpoints are on it.
	Participants int
	// Added records when the conference added endpoints to it; only those
	// within MaxBridgeParticipantsInterval count. Keep it with
	// Added.Add(now, cfg.MaxBridgeParticipantsInterval).
	Added Additions
}

// ConferenceBridges are the bridges of one conference, the first one first:
// its first bridge decides the conference's version, region (intra-region)
// and whether it may cascade.
type ConferenceBridges []ConferenceBridge

// policy is the part of Config every strategy applies, compiled once.
type policy struct {
	maxParticipants int
	maxPerInterval  int
	interval        time.Duration
	multiBridge     bool
	localRegion     string
	groups          map[string][]string // region -> the regions of its group
}

func newPolicy(cfg Config) (policy, error) {
	if _, err := groupIndex(cfg.RegionGroups); err != nil {
		return policy{}, err
	}
	groups := make(map[string][]string)
	for _, g := range cfg.RegionGroups {
		members := append([]string(nil), g...)
		for _, r := range members {
			groups[r] = members
		}
	}
	return policy{
		maxParticipants: cfg.MaxBridgeParticipants,
		maxPerInterval:  cfg.MaxBridgeParticipantsPerInterval,
		interval:        cfg.MaxBridgeParticipantsInterval,
		multiBridge:     cfg.Octo.Enabled,
		localRegion:     cfg.LocalRegion,
		groups:          groups,
	}, nil
}

// newStrategy builds the strategy cfg names, with its canonical name.
func newStrategy(cfg Config) (Strategy, string, error) {
	kind, err := parseStrategy(cfg.SelectionStrategy)
	if err != nil {
		return nil, "", err
	}
	p, err := newPolicy(cfg)
	if err != nil {
		return nil, "", err
	}
	var s Strategy
	switch kind {
	case kindSingle:
		s = single{p}
	case kindRegionBased:
		s = regionBased{p}
	case kindIntraRegion:
		s = intraRegion{p}
	case kindSplit:
		s = split{p}
	}
	return s, canonicalNames[kind], nil
}

// existing applies the rule that precedes every strategy: a conference whose
// first bridge cannot relay (or which may not cascade) stays on that bridge,
// whatever its state. ok is false when the strategy must choose.
func existing(conf ConferenceBridges, multiBridge bool) (b *Bridge, ok bool) {
	if len(conf) == 0 {
		return nil, false
	}
	first := conf[0].Bridge
	if !multiBridge || first.RelayID() == "" {
		return first, true
	}
	return nil, false
}

// maxed reports whether the conference has MaxBridgeParticipants on cb.
func (p *policy) maxed(cb *ConferenceBridge) bool {
	return cb != nil && p.maxParticipants > 0 && cb.Participants >= p.maxParticipants
}

// rateLimited reports whether the conference added
// MaxBridgeParticipantsPerInterval endpoints to cb within the interval.
func (p *policy) rateLimited(cb *ConferenceBridge, now time.Time) bool {
	return cb != nil && p.maxPerInterval > 0 && cb.Added.Since(now.Add(-p.interval)) >= p.maxPerInterval
}

// overloadedFor is the per-conference overload rule: the bridge is
// overloaded, or this conference has filled it or is growing on it too fast.
// cb is the conference's entry for the bridge, nil if it does not use it.
// Other conferences and the bridge's own state are unaffected.
func (p *policy) overloadedFor(r rank, cb *ConferenceBridge, now time.Time) bool {
	return r.overloaded || p.maxed(cb) || p.rateLimited(cb, now)
}

// inRegion reports whether a bridge in region br is in the wanted region;
// an unknown wanted region matches nothing.
func inRegion(want, br string) bool { return want != "" && br == want }

// regionGroup is the group of a wanted region: the region and the others
// grouped with it. The group of an unknown region is empty.
type regionGroup struct {
	region string
	others []string // includes region when it is in a configured group
}

// groupOf returns the group of region; a region in no group is a group of
// its own.
func (p *policy) groupOf(region string) regionGroup {
	return regionGroup{region: region, others: p.groups[region]}
}

// has reports whether a bridge in region br is in the group; unknown regions
// match nothing.
func (g regionGroup) has(br string) bool {
	if g.region == "" || br == "" {
		return false
	}
	if br == g.region {
		return true
	}
	for _, r := range g.others {
		if r == br {
			return true
		}
	}
	return false
}

// linearLookupMax is the conference size up to which finding a candidate in
// the conference scans the conference's bridges instead of indexing them.
const linearLookupMax = 8

// confView finds candidates among a conference's bridges in O(1): a short
// scan for the usual few bridges, a map beyond linearLookupMax.
type confView struct {
	conf  ConferenceBridges
	index map[*Bridge]int
}

func newConfView(conf ConferenceBridges) confView {
	v := confView{conf: conf}
	if len(conf) > linearLookupMax {
		v.index = make(map[*Bridge]int, len(conf))
		for i := len(conf) - 1; i >= 0; i-- { // the first entry wins on duplicates
			v.index[conf[i].Bridge] = i
		}
	}
	return v
}

// find returns the position and entry of b in the conference, or -1 and nil.
func (v confView) find(b *Bridge) (int, *ConferenceBridge) {
	if v.index != nil {
		if i, ok := v.index[b]; ok {
			return i, &v.conf[i]
		}
		return -1, nil
	}
	for i := range v.conf {
		if v.conf[i].Bridge == b {
			return i, &v.conf[i]
		}
	}
	return -1, nil
}
