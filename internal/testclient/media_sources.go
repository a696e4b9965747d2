package testclient

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"

	"focal/media/sources"
	"focal/xmpp"
)

// ssrcRegistry hands out random SSRCs that no other endpoint of this process
// has: the focus refuses an SSRC another endpoint of the conference signalled,
// and tests run many endpoints in one process.
var ssrcRegistry = struct {
	sync.Mutex
	used map[int64]bool
}{used: map[int64]bool{}}

// newSSRC returns a random SSRC in 1..2^32-1 not handed out before.
func newSSRC() int64 {
	ssrcRegistry.Lock()
	defer ssrcRegistry.Unlock()
	for {
		s := int64(rand.Uint32())
		if s != 0 && !ssrcRegistry.used[s] {
			ssrcRegistry.used[s] = true
			return s
		}
	}
}

// defaultSources builds what lib-jitsi-meet signals for one camera and one
// microphone: sources named <nick>-a0 and <nick>-v0 with an msid each, video
// as three simulcast layers when simulcast is set, and an RTX (FID) stream
// per video SSRC when rtx is set.
func defaultSources(nick string, simulcast, rtx bool) sources.Set {
	var set sources.Set
	set.Sources = append(set.Sources, sources.Source{
		SSRC:  newSSRC(),
		Media: sources.Audio,
		Name:  sources.DefaultName(nick, sources.Audio, 0),
		MSID:  nick + "-audio-0 " + nick + "-a0-track",
	})
	video := func(ssrc int64) sources.Source {
		return sources.Source{
			SSRC:      ssrc,
			Media:     sources.Video,
			Name:      sources.DefaultName(nick, sources.Video, 0),
			MSID:      nick + "-video-0 " + nick + "-v0-track",
			VideoType: sources.VideoCamera,
		}
	}
	layers := 1
	if simulcast {
		layers = 3
	}
	primaries := make([]int64, layers)
	for i := range primaries {
		primaries[i] = newSSRC()
		set.Sources = append(set.Sources, video(primaries[i]))
	}
	if simulcast {
		set.Groups = append(set.Groups, sources.Group{
			Semantics: xmpp.JingleSemanticsSIM, Media: sources.Video, SSRCs: slices.Clone(primaries),
		})
	}
	if rtx {
		for _, p := range primaries {
			r := newSSRC()
			set.Sources = append(set.Sources, video(r))
			set.Groups = append(set.Groups, sources.Group{
				Semantics: xmpp.JingleSemanticsFID, Media: sources.Video, SSRCs: []int64{p, r},
			})
		}
	}
	return set
}

// remoteSources reads the sources a Jingle IQ of the focus carries, by owner:
// from its <json-message/> when the focus sent them as JSON, else from the
// <source/> elements of its contents.
func remoteSources(j *xmpp.Jingle) (map[string]sources.Set, error) {
	if j.JSONMessage != nil {
		out, err := sources.DecodeJSON(j.JSONMessage.Text)
		if err == nil {
			return out, nil
		}
		if !errors.Is(err, sources.ErrNoJSONSources) {
			return nil, fmt.Errorf("read json-message sources: %w", err)
		}
	}
	return sourcesByOwner(j.Contents)
}

// sourcesByOwner splits the sources of contents by the owner of their
// <ssrc-info/> ("" when they have none). A group belongs to the owner of its
// first SSRC, as groups carry no owner of their own.
func sourcesByOwner(contents []xmpp.JingleContent) (map[string]sources.Set, error) {
	ownerOf := map[int64]string{}
	owners := map[string]bool{}
	forEachContent(contents, func(srcs []xmpp.JingleSource, _ []xmpp.JingleSourceGroup) {
		for _, s := range srcs {
			o := sourceOwner(s)
			ownerOf[s.SSRC] = o
			owners[o] = true
		}
	})
	groupOwner := func(g xmpp.JingleSourceGroup) string {
		if len(g.Sources) == 0 {
			return ""
		}
		return ownerOf[g.Sources[0].SSRC]
	}
	forEachContent(contents, func(_ []xmpp.JingleSource, groups []xmpp.JingleSourceGroup) {
		for _, g := range groups {
			owners[groupOwner(g)] = true
		}
	})
	out := map[string]sources.Set{}
	for _, owner := range slices.Sorted(maps.Keys(owners)) {
		filtered := make([]xmpp.JingleContent, len(contents))
		for i, c := range contents {
			c.Sources = keep(c.Sources, func(s xmpp.JingleSource) bool { return sourceOwner(s) == owner })
			if c.Description != nil {
				d := *c.Description
				d.Sources = keep(d.Sources, func(s xmpp.JingleSource) bool { return sourceOwner(s) == owner })
				d.SourceGroups = keep(d.SourceGroups, func(g xmpp.JingleSourceGroup) bool { return groupOwner(g) == owner })
				c.Description = &d
			}
			filtered[i] = c
		}
		set, err := sources.FromJingle(filtered)
		if err != nil {
			return nil, fmt.Errorf("read sources of %q: %w", owner, err)
		}
		if !set.Empty() {
			out[owner] = set
		}
	}
	return out, nil
}

func forEachContent(contents []xmpp.JingleContent, f func([]xmpp.JingleSource, []xmpp.JingleSourceGroup)) {
	for _, c := range contents {
		f(c.Sources, nil)
		if c.Description != nil {
			f(c.Description.Sources, c.Description.SourceGroups)
		}
	}
}

func sourceOwner(s xmpp.JingleSource) string {
	if s.SSRCInfo == nil {
		return ""
	}
	return s.SSRCInfo.Owner
}

func keep[T any](in []T, ok func(T) bool) []T {
	var out []T
	for _, v := range in {
		if ok(v) {
			out = append(out, v)
		}
	}
	return out
}

// addSources merges add into the view by owner.
func addSources(view, add map[string]sources.Set) {
	for owner, set := range add {
		view[owner] = view[owner].Union(set)
	}
}

// removeSources drops from every owner of the view the SSRCs rm names, with
// the groups that contain them, and rm's groups. It goes by SSRC, not by the
// whole source, because a source-remove need not repeat every attribute,
// and not by owner, because SSRCs are unique in a conference.
func removeSources(view, rm map[string]sources.Set) {
	gone := map[int64]bool{}
	var groups []sources.Group
	for _, set := range rm {
		for _, s := range set.Sources {
			gone[s.SSRC] = true
		}
		groups = append(groups, set.Groups...)
	}
	for owner, set := range view {
		var left sources.Set
		left.Sources = keep(set.Sources, func(s sources.Source) bool { return !gone[s.SSRC] })
		left.Groups = keep(set.Groups, func(g sources.Group) bool {
			return !slices.ContainsFunc(g.SSRCs, func(s int64) bool { return gone[s] }) &&
				!slices.ContainsFunc(groups, g.Equal)
		})
		if left.Empty() {
			delete(view, owner)
		} else {
			view[owner] = left
		}
	}
}

// cloneView deep-copies a view of sources by owner.
func cloneView(view map[string]sources.Set) map[string]sources.Set {
	out := make(map[string]sources.Set, len(view))
	for o, s := range view {
		out[o] = s.Clone()
	}
	return out
}

// viewHasSSRC reports whether any owner of view has a source with ssrc.
func viewHasSSRC(view map[string]sources.Set, ssrc int64) bool {
	for _, s := range view {
		if _, ok := s.Find(ssrc); ok {
			return true
		}
	}
	return false
}
