package sources

import (
	"slices"
	"sort"
	"strings"

	"focal/xmpp"
)

// MediaOf maps a content's description media (or, without one, the
// content name) to a source media type.
func MediaOf(c *xmpp.JingleContent) (Media, bool) {
	switch m := Media(c.Media()); m {
	case Audio, Video:
		return m, true
	}
	return "", false
}

// FromJingle reads the sources and groups of the audio and video
// contents (in their descriptions, and directly under <content/>). Sources
// without an SSRC (RID simulcast) are skipped. Unknown group semantics, video
// types, or sources in a content that is neither audio nor video are errors.
func FromJingle(contents []xmpp.JingleContent) (Set, error) {
	var out collector
	for i := range contents {
		c := &contents[i]
		var srcs []xmpp.JingleSource
		var groups []xmpp.JingleSourceGroup
		srcs = append(srcs, c.Sources...)
		if c.Description != nil {
			srcs = append(srcs, c.Description.Sources...)
			groups = c.Description.SourceGroups
		}
		if len(srcs) == 0 && len(groups) == 0 {
			continue
		}
		media, ok := MediaOf(c)
		if !ok {
			return Set{}, errorf(InvalidMedia, "Sources in content %q of unsupported media.", c.Name)
		}
		for _, js := range srcs {
			if js.SSRC == 0 && js.RID != "" {
				continue
			}
			src := Source{SSRC: js.SSRC, Media: media, Name: js.Name, MSID: js.MSID()}
			if js.VideoType != "" {
				vt := strings.ToLower(js.VideoType)
				if vt != VideoCamera && vt != VideoDesktop {
					return Set{}, errorf(InvalidVideoType, "Invalid video type: %q.", js.VideoType)
				}
				src.VideoType = vt
			}
			out.addSource(src)
		}
		for _, jg := range groups {
			sem := strings.ToUpper(jg.Semantics)
			if sem != xmpp.JingleSemanticsSIM && sem != xmpp.JingleSemanticsFID {
				return Set{}, errorf(InvalidSemantics, "Invalid ssrc-group semantics: %s.", jg.Semantics)
			}
			out.addGroup(Group{Semantics: sem, Media: media, SSRCs: jg.SSRCs()})
		}
	}
	return out.set, nil
}

// Jingle returns the <source/> element for src; owner, when not empty, is
// written as its <ssrc-info owner/>.
func (src Source) Jingle(owner string) xmpp.JingleSource {
	js := xmpp.JingleSource{SSRC: src.SSRC, Name: src.Name, VideoType: src.VideoType}
	if owner != "" {
		js.SSRCInfo = &xmpp.JingleSSRCInfo{Owner: owner}
	}
	if src.MSID != "" {
		js.Parameters = []xmpp.JingleParameter{{Name: xmpp.JingleParameterMSID, Value: src.MSID}}
	}
	return js
}

// Jingle returns the <ssrc-group/> element for g.
func (g Group) Jingle() xmpp.JingleSourceGroup {
	jg := xmpp.JingleSourceGroup{Semantics: g.Semantics}
	for _, s := range g.SSRCs {
		jg.Sources = append(jg.Sources, xmpp.JingleSource{SSRC: s})
	}
	return jg
}

// JingleContents returns audio and video contents (only those with
// something to say) describing s, each source tagged with owner.
func (s Set) JingleContents(owner string) []xmpp.JingleContent {
	return JingleContentsWith(nil, map[string]Set{owner: s})
}

// JingleContentsWith returns a copy of base with the sources of every
// owner added to the descriptions of its audio and video contents, creating
// those contents when base lacks them. Owners are written in sorted order.
// This is how an offer, source-add or source-remove carries sources when the
// client does not take them as JSON.
func JingleContentsWith(base []xmpp.JingleContent, sources map[string]Set) []xmpp.JingleContent {
	out := make([]xmpp.JingleContent, len(base))
	for i, c := range base {
		if c.Description != nil {
			d := *c.Description
			d.Sources = slices.Clone(d.Sources)
			d.SourceGroups = slices.Clone(d.SourceGroups)
			c.Description = &d
		}
		out[i] = c
	}
	owners := make([]string, 0, len(sources))
	for o := range sources {
		owners = append(owners, o)
	}
	sort.Strings(owners)
	description := func(media Media) *xmpp.JingleRTPDescription {
		for i := range out {
			if m, ok := MediaOf(&out[i]); ok && m == media {
				if out[i].Description == nil {
					out[i].Description = &xmpp.JingleRTPDescription{Media: string(media)}
				}
				return out[i].Description
			}
		}
		out = append(out, xmpp.JingleContent{
			Name:        string(media),
			Description: &xmpp.JingleRTPDescription{Media: string(media)},
		})
		return out[len(out)-1].Description
	}
	for _, owner := range owners {
		set := sources[owner]
		for _, src := range set.Sources {
			d := description(src.Media)
			d.Sources = append(d.Sources, src.Jingle(owner))
		}
		for _, g := range set.Groups {
			d := description(g.Media)
			d.SourceGroups = append(d.SourceGroups, g.Jingle())
		}
	}
	return out
}
