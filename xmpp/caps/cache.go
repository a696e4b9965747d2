package caps

import (
	"slices"
	"sync"

	"focal/xmpp"
)

// Cache maps a verified ver to the features it stands for, so that a
// client announcing a ver seen before is not asked for its features
// (Jicofo's Smack does the same). An entry is kept only once a client's
// disco#info answer hashed to the ver it announced, so a client cannot
// make others look as if they had features they do not.
//
// It is shared by every conference of a node, unlike the rest of their
// state: entries never change once added, and a lookup is a read.
type Cache struct {
	max int

	mu       sync.RWMutex
	features map[string][]string
}

// NewCache returns a cache of at most max vers (a node meets a few: one
// per client version and browser).
func NewCache(max int) *Cache {
	return &Cache{max: max, features: make(map[string][]string)}
}

// Features returns the features c.Ver stands for, if known. The slice is
// shared: callers do not change it.
func (k *Cache) Features(c Caps) ([]string, bool) {
	if k == nil {
		return nil, false
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	f, ok := k.features[c.Ver]
	return f, ok
}

// Learn keeps the features of query, a disco#info answer of a client that
// announced c, if query hashes to c.Ver, and says whether it did.
func (k *Cache) Learn(c Caps, query *xmpp.Element) bool {
	if k == nil || c.Hash != "sha-1" {
		return false
	}
	ver, err := Ver(query)
	if err != nil || ver != c.Ver {
		return false
	}
	features := Features(query)
	slices.Sort(features)
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.features[ver]; !ok && len(k.features) >= k.max {
		// Full: forget one (any). Vers come from client versions, so a
		// full cache is a hostile client's making more than anything.
		for v := range k.features {
			delete(k.features, v)
			break
		}
	}
	k.features[ver] = features
	return true
}
