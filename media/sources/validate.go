package sources

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"focal/xmpp"
)

// ErrorKind says which rule a source change broke.
type ErrorKind int

// Kinds of Error.
const (
	InvalidSSRC       ErrorKind = iota + 1 // SSRC outside 1..2^32-1
	SSRCInUse                              // SSRC already signalled in the conference
	SSRCLimit                              // too many sources for one endpoint
	GroupLimit                             // too many groups for one endpoint
	MSIDInUse                              // MSID used by another endpoint or another stream
	MSIDMissing                            // grouped source without msid
	GroupMSIDMismatch                      // sources of one group with different msids
	GroupUnknownSSRC                       // group references an SSRC the endpoint has not signalled
	InvalidFIDGroup                        // FID group without exactly 2 distinct SSRCs
	InvalidSIMGroup                        // SIM group without 2 or 3 distinct SSRCs
	InvalidSemantics                       // group semantics other than SIM or FID
	InvalidMedia                           // source or group outside audio and video
	InvalidVideoType                       // video type other than camera or desktop
	NotOwned                               // removal of a source the endpoint does not have
	GroupNotOwned                          // removal of a group the endpoint does not have
)

// Error is a rejected source change. Reason is a sentence for the
// peer; callers answer the request with a bad-request stanza error carrying
// it.
type Error struct {
	Kind   ErrorKind
	Reason string
}

func (e *Error) Error() string { return e.Reason }

func errorf(kind ErrorKind, format string, args ...any) *Error {
	return &Error{Kind: kind, Reason: fmt.Sprintf(format, args...)}
}

func ssrcList(ssrcs []int64) string {
	parts := make([]string, len(ssrcs))
	for i, s := range ssrcs {
		parts[i] = strconv.FormatInt(s, 10)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// Lookup is the conference state a Validator checks against.
type Lookup interface {
	// SourcesOf returns the sources of an endpoint (empty if none).
	SourcesOf(owner string) Set
	// SSRCOwner returns the endpoint that signalled ssrc.
	SSRCOwner(ssrc int64) (string, bool)
	// MSIDOwner returns the endpoint that signalled a source with msid.
	MSIDOwner(msid string) (string, bool)
}

// Validator checks additions and removals of sources by one endpoint.
// Its methods are pure: they compute what would be accepted and change
// nothing.
type Validator struct {
	MaxSSRCs  int // sources per endpoint; 0 means DefaultMaxSSRCs
	MaxGroups int // groups per endpoint; 0 means DefaultMaxGroups
}

func (v Validator) limits() (int, int) {
	maxSSRCs, maxGroups := v.MaxSSRCs, v.MaxGroups
	if maxSSRCs <= 0 {
		maxSSRCs = DefaultMaxSSRCs
	}
	if maxGroups <= 0 {
		maxGroups = DefaultMaxGroups
	}
	return maxSSRCs, maxGroups
}

const maxSSRC = 1<<32 - 1

// CheckAdd validates that owner may add add to the conference described by
// conf and returns the accepted change: add's sources, and its groups minus
// empty ones and ones the endpoint already has (those are ignored, not
// errors).
func (v Validator) CheckAdd(conf Lookup, owner string, add Set) (Set, error) {
	maxSSRCs, maxGroups := v.limits()
	existing := conf.SourcesOf(owner)

	var accepted Set
	seen := map[int64]bool{}
	for _, src := range add.Sources {
		if len(existing.Sources)+len(accepted.Sources) >= maxSSRCs {
			return Set{}, errorf(SSRCLimit, "SSRC limit (%d) exceeded.", maxSSRCs)
		}
		if src.Media != Audio && src.Media != Video {
			return Set{}, errorf(InvalidMedia, "Invalid media type for SSRC %d: %q.", src.SSRC, src.Media)
		}
		if src.SSRC <= 0 || src.SSRC > maxSSRC {
			return Set{}, errorf(InvalidSSRC, "Invalid SSRC: %d.", src.SSRC)
		}
		if _, used := conf.SSRCOwner(src.SSRC); used || seen[src.SSRC] {
			return Set{}, errorf(SSRCInUse, "SSRC is already used: %d.", src.SSRC)
		}
		seen[src.SSRC] = true
		if src.VideoType != "" && src.VideoType != VideoCamera && src.VideoType != VideoDesktop {
			return Set{}, errorf(InvalidVideoType, "Invalid video type: %q.", src.VideoType)
		}
		if src.MSID != "" {
			if o, ok := conf.MSIDOwner(src.MSID); ok && o != owner {
				return Set{}, errorf(MSIDInUse, "MSID is already used: %s.", src.MSID)
			}
		}
		accepted.Sources = append(accepted.Sources, src)
	}

	signalled := map[int64]bool{}
	for _, src := range existing.Sources {
		signalled[src.SSRC] = true
	}
	for ssrc := range seen {
		signalled[ssrc] = true
	}
	known := map[string]bool{}
	for _, g := range existing.Groups {
		known[g.key()] = true
	}
	for _, g := range add.Groups {
		if g.Semantics != xmpp.JingleSemanticsSIM && g.Semantics != xmpp.JingleSemanticsFID {
			return Set{}, errorf(InvalidSemantics, "Invalid ssrc-group semantics: %s.", g.Semantics)
		}
		if len(g.SSRCs) == 0 || known[g.key()] {
			continue // empty and repeated groups are ignored
		}
		if len(existing.Groups)+len(accepted.Groups) >= maxGroups {
			return Set{}, errorf(GroupLimit, "ssrc-group limit (%d) exceeded.", maxGroups)
		}
		known[g.key()] = true
		for _, ssrc := range g.SSRCs {
			if !signalled[ssrc] {
				return Set{}, errorf(GroupUnknownSSRC,
					"An SSRC group contains an SSRC, which hasn't been signaled as a source: %s.", ssrcList(g.SSRCs))
			}
		}
		g.SSRCs = slices.Clone(g.SSRCs)
		accepted.Groups = append(accepted.Groups, g)
	}

	result := Set{
		Sources: append(slices.Clone(existing.Sources), accepted.Sources...),
		Groups:  append(slices.Clone(existing.Groups), accepted.Groups...),
	}
	if err := validateSet(result); err != nil {
		return Set{}, err
	}
	return accepted, nil
}

// CheckRemove validates that owner may remove rm and returns what would be
// removed: the endpoint's own sources with rm's SSRCs (other properties need
// not match), the groups named in rm, and every group containing a removed
// SSRC.
func (v Validator) CheckRemove(conf Lookup, owner string, rm Set) (Set, error) {
	if rm.Empty() {
		return Set{}, nil
	}
	existing := conf.SourcesOf(owner)
	if existing.Empty() {
		return Set{}, errorf(NotOwned, "Source does not exist or is not owned by endpoint %s.", owner)
	}
	var removed Set
	gone := map[int64]bool{}
	for _, src := range rm.Sources {
		have, ok := existing.Find(src.SSRC)
		if !ok {
			return Set{}, errorf(NotOwned,
				"Source does not exist or is not owned by endpoint %s (ssrc=%d).", owner, src.SSRC)
		}
		if !gone[src.SSRC] {
			gone[src.SSRC] = true
			removed.Sources = append(removed.Sources, have)
		}
	}
	for _, g := range rm.Groups {
		if len(g.SSRCs) == 0 {
			continue
		}
		i := slices.IndexFunc(existing.Groups, g.sameSSRCs)
		if i < 0 {
			return Set{}, errorf(GroupNotOwned,
				"Source group does not exist: %s%s.", g.Semantics, ssrcList(g.SSRCs))
		}
		if !removed.HasGroup(existing.Groups[i]) {
			removed.Groups = append(removed.Groups, existing.Groups[i])
		}
	}
	for _, g := range existing.Groups {
		if slices.ContainsFunc(g.SSRCs, func(s int64) bool { return gone[s] }) && !removed.HasGroup(g) {
			removed.Groups = append(removed.Groups, g)
		}
	}
	removed = removed.Clone()
	if err := validateSet(existing.Minus(removed)); err != nil {
		return Set{}, err
	}
	return removed, nil
}

// validateSet checks the rules that hold for a whole endpoint source
// set: group sizes, msids of grouped sources, and one msid per stream.
func validateSet(set Set) error {
	for _, g := range set.Groups {
		distinct := len(g.SSRCs)
		for i, s := range g.SSRCs {
			if slices.Contains(g.SSRCs[:i], s) {
				distinct = -1
				break
			}
		}
		switch g.Semantics {
		case xmpp.JingleSemanticsFID:
			if distinct != 2 {
				return errorf(InvalidFIDGroup, "Invalid FID group: %s.", ssrcList(g.SSRCs))
			}
		case xmpp.JingleSemanticsSIM:
			if distinct < 2 || distinct > 3 {
				return errorf(InvalidSIMGroup, "Invalid SIM group: %s.", ssrcList(g.SSRCs))
			}
		}
		msid := ""
		for _, ssrc := range g.SSRCs {
			src, ok := set.Find(ssrc)
			if !ok {
				return errorf(GroupUnknownSSRC,
					"An SSRC group contains an SSRC, which hasn't been signaled as a source: %s.", ssrcList(g.SSRCs))
			}
			if src.MSID == "" {
				return errorf(MSIDMissing, "Required source parameter 'msid' is not present.")
			}
			if msid == "" {
				msid = src.MSID
			} else if src.MSID != msid {
				return errorf(GroupMSIDMismatch,
					"SsrcGroup contains sources with different MSIDs: %s.", ssrcList(g.SSRCs))
			}
		}
	}
	// Each stream (a simulcast group with its FIDs, a lone FID group, or an
	// ungrouped source) has one msid, not shared with another stream of the
	// same media type.
	for _, media := range []Media{Audio, Video} {
		owner := map[string]string{} // msid -> stream key
		for _, src := range set.Sources {
			if src.Media != media || src.MSID == "" {
				continue
			}
			key := streamKey(set.Groups, src.SSRC)
			if k, ok := owner[src.MSID]; ok && k != key {
				return errorf(MSIDInUse, "MSID is already used: %s.", src.MSID)
			}
			owner[src.MSID] = key
		}
	}
	return nil
}

// streamKey names the stream ssrc belongs to: its SIM group, the SIM
// group of the primary SSRC of its FID group, its FID group, or itself.
func streamKey(groups []Group, ssrc int64) string {
	for i, g := range groups {
		if g.Semantics == xmpp.JingleSemanticsSIM && g.contains(ssrc) {
			return "g" + strconv.Itoa(i)
		}
	}
	for i, g := range groups {
		if g.Semantics != xmpp.JingleSemanticsFID || !g.contains(ssrc) {
			continue
		}
		if len(g.SSRCs) == 2 && g.SSRCs[1] == ssrc {
			for j, sim := range groups {
				if sim.Semantics == xmpp.JingleSemanticsSIM && sim.contains(g.SSRCs[0]) {
					return "g" + strconv.Itoa(j)
				}
			}
		}
		return "g" + strconv.Itoa(i)
	}
	return "s" + strconv.FormatInt(ssrc, 10)
}
