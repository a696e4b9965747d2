package sources

// collector builds a Set from parsed elements, dropping repeats
// in linear time (a hostile stanza may carry thousands of them).
type collector struct {
	set     Set
	sources map[Source]bool
	groups  map[string]bool
}

func (c *collector) addSource(src Source) {
	if c.sources == nil {
		c.sources = map[Source]bool{}
	}
	if !c.sources[src] {
		c.sources[src] = true
		c.set.Sources = append(c.set.Sources, src)
	}
}

func (c *collector) addGroup(g Group) {
	if c.groups == nil {
		c.groups = map[string]bool{}
	}
	if k := g.key(); !c.groups[k] {
		c.groups[k] = true
		c.set.Groups = append(c.set.Groups, g)
	}
}
