package sources

import (
	"fmt"
	"slices"
	"strings"

	"focal/xmpp"
)

// Set is the sources and source groups of one endpoint. Its methods
// never modify the receiver; they return new sets.
type Set struct {
	Sources []Source
	Groups  []Group
}

// Empty reports whether s has neither sources nor groups.
func (s Set) Empty() bool { return len(s.Sources) == 0 && len(s.Groups) == 0 }

// Clone returns a deep copy of s.
func (s Set) Clone() Set {
	c := Set{Sources: slices.Clone(s.Sources)}
	for _, g := range s.Groups {
		g.SSRCs = slices.Clone(g.SSRCs)
		c.Groups = append(c.Groups, g)
	}
	return c
}

// Find returns the source with the given SSRC.
func (s Set) Find(ssrc int64) (Source, bool) {
	for _, src := range s.Sources {
		if src.SSRC == ssrc {
			return src, true
		}
	}
	return Source{}, false
}

// SSRCs returns the SSRCs of the sources of the given media ("" for all).
func (s Set) SSRCs(media Media) []int64 {
	var out []int64
	for _, src := range s.Sources {
		if media == "" || src.Media == media {
			out = append(out, src.SSRC)
		}
	}
	return out
}

// HasGroup reports whether s has a group equal to g.
func (s Set) HasGroup(g Group) bool {
	return slices.ContainsFunc(s.Groups, g.Equal)
}

// Union returns the sources and groups of s followed by those of o that s
// does not already have.
func (s Set) Union(o Set) Set {
	out := s.Clone()
	for _, src := range o.Sources {
		if !slices.Contains(out.Sources, src) {
			out.Sources = append(out.Sources, src)
		}
	}
	for _, g := range o.Groups {
		if !out.HasGroup(g) {
			g.SSRCs = slices.Clone(g.SSRCs)
			out.Groups = append(out.Groups, g)
		}
	}
	return out
}

// Minus returns s without the sources and groups equal to one of o.
func (s Set) Minus(o Set) Set {
	var out Set
	for _, src := range s.Sources {
		if !slices.Contains(o.Sources, src) {
			out.Sources = append(out.Sources, src)
		}
	}
	for _, g := range s.Groups {
		if !o.HasGroup(g) {
			g.SSRCs = slices.Clone(g.SSRCs)
			out.Groups = append(out.Groups, g)
		}
	}
	return out
}

// StripSimulcast keeps, of each simulcast group, only the first SSRC and its
// retransmission stream, and drops the SIM groups. This is what receivers
// get when the bridge rewrites simulcast onto the first layer's SSRC.
func (s Set) StripSimulcast() Set {
	drop := map[int64]bool{}
	var dropGroups []Group
	for _, g := range s.Groups {
		if g.Semantics != xmpp.JingleSemanticsSIM {
			continue
		}
		dropGroups = append(dropGroups, g)
		for _, ssrc := range g.SSRCs[min(1, len(g.SSRCs)):] {
			drop[ssrc] = true
		}
	}
	for _, g := range s.Groups {
		if g.Semantics == xmpp.JingleSemanticsFID && len(g.SSRCs) == 2 && drop[g.SSRCs[0]] {
			drop[g.SSRCs[1]] = true
			dropGroups = append(dropGroups, g)
		}
	}
	var out Set
	for _, src := range s.Sources {
		if !drop[src.SSRC] {
			out.Sources = append(out.Sources, src)
		}
	}
	for _, g := range s.Groups {
		if !slices.ContainsFunc(dropGroups, g.Equal) {
			g.SSRCs = slices.Clone(g.SSRCs)
			out.Groups = append(out.Groups, g)
		}
	}
	return out
}

func (s Set) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "[audio=%v, video=%v, groups=[", s.SSRCs(Audio), s.SSRCs(Video))
	for i, g := range s.Groups {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(g.Semantics)
		b.WriteString(ssrcList(g.SSRCs))
	}
	b.WriteString("]]")
	return b.String()
}
