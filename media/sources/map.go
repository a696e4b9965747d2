package sources

import (
	"sort"
)

// Map holds the validated sources of every endpoint of a
// conference. It is not safe for concurrent use: the conference that owns it
// serialises access.
type Map struct {
	validator Validator
	owners    map[string]Set
	ssrcOwner map[int64]string
	msidOwner map[string]string
	revision  uint64
}

// NewMap returns an empty map enforcing v's limits.
func NewMap(v Validator) *Map {
	return &Map{
		validator: v,
		owners:    map[string]Set{},
		ssrcOwner: map[int64]string{},
		msidOwner: map[string]string{},
	}
}

// SourcesOf returns a copy of owner's sources.
func (c *Map) SourcesOf(owner string) Set { return c.owners[owner].Clone() }

// SSRCOwner returns the endpoint that signalled ssrc.
func (c *Map) SSRCOwner(ssrc int64) (string, bool) {
	o, ok := c.ssrcOwner[ssrc]
	return o, ok
}

// MSIDOwner returns the endpoint that signalled a source with msid.
func (c *Map) MSIDOwner(msid string) (string, bool) {
	o, ok := c.msidOwner[msid]
	return o, ok
}

// Revision counts the changes of the map: it is the same only as long as
// the map is, so a copy in another shape can be kept until it moves.
func (c *Map) Revision() uint64 { return c.revision }

// Owners returns the endpoints that have sources, sorted.
func (c *Map) Owners() []string {
	out := make([]string, 0, len(c.owners))
	for o := range c.owners {
		out = append(out, o)
	}
	sort.Strings(out)
	return out
}

// All returns a copy of every endpoint's sources, by owner.
func (c *Map) All() map[string]Set {
	out := make(map[string]Set, len(c.owners))
	for o, s := range c.owners {
		out[o] = s.Clone()
	}
	return out
}

// Except returns a copy of the sources of every endpoint but owner: what a
// new participant is told about.
func (c *Map) Except(owner string) map[string]Set {
	out := c.All()
	delete(out, owner)
	return out
}

// TryAdd validates and applies an addition of sources by owner, returning
// what was accepted. On error nothing changes.
func (c *Map) TryAdd(owner string, add Set) (Set, error) {
	accepted, err := c.validator.CheckAdd(c, owner, add)
	if err != nil || accepted.Empty() {
		return accepted, err
	}
	c.set(owner, c.owners[owner].Union(accepted))
	return accepted, nil
}

// TryRemove validates and applies a removal of sources by owner, returning
// what was removed. On error nothing changes.
func (c *Map) TryRemove(owner string, rm Set) (Set, error) {
	removed, err := c.validator.CheckRemove(c, owner, rm)
	if err != nil || removed.Empty() {
		return removed, err
	}
	c.set(owner, c.owners[owner].Minus(removed))
	return removed, nil
}

// RemoveOwner drops every source of owner (the endpoint left) and returns
// them.
func (c *Map) RemoveOwner(owner string) Set {
	old, ok := c.owners[owner]
	if ok {
		c.set(owner, Set{})
	}
	return old
}

// set replaces owner's sources and keeps the SSRC and MSID indexes in step.
func (c *Map) set(owner string, s Set) {
	c.revision++
	for _, src := range c.owners[owner].Sources {
		delete(c.ssrcOwner, src.SSRC)
		if src.MSID != "" && c.msidOwner[src.MSID] == owner {
			delete(c.msidOwner, src.MSID)
		}
	}
	if s.Empty() {
		delete(c.owners, owner)
		return
	}
	c.owners[owner] = s
	for _, src := range s.Sources {
		c.ssrcOwner[src.SSRC] = owner
		if src.MSID != "" {
			c.msidOwner[src.MSID] = owner
		}
	}
}
