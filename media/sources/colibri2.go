package sources

import (
	"strconv"
	"strings"

	"focal/xmpp"
)

// Colibri2Sources returns s as the <sources/> of a colibri2 endpoint: one
// <media-source/> per source name (named endpointID-a0 / -v0 when the
// client sent no names), with the groups in the media source of their first
// SSRC. The msid is not sent to the bridge.
func (s Set) Colibri2Sources(endpointID string) *xmpp.Colibri2Sources {
	out := &xmpp.Colibri2Sources{}
	index := map[string]int{}
	mediaSource := func(id string, media Media) *xmpp.Colibri2MediaSource {
		if i, ok := index[id]; ok {
			return &out.MediaSources[i]
		}
		index[id] = len(out.MediaSources)
		out.MediaSources = append(out.MediaSources, xmpp.Colibri2MediaSource{Type: string(media), ID: id})
		return &out.MediaSources[len(out.MediaSources)-1]
	}
	idOf := func(name string, media Media) string {
		if name != "" {
			return name
		}
		return DefaultName(endpointID, media, 0)
	}
	for _, src := range s.Sources {
		ms := mediaSource(idOf(src.Name, src.Media), src.Media)
		ms.Sources = append(ms.Sources, xmpp.JingleSource{SSRC: src.SSRC, Name: src.Name, VideoType: src.VideoType})
	}
	for _, g := range s.Groups {
		if len(g.SSRCs) == 0 {
			continue
		}
		first, ok := s.Find(g.SSRCs[0])
		name := ""
		if ok {
			name = first.Name
		}
		ms := mediaSource(idOf(name, g.Media), g.Media)
		ms.SourceGroups = append(ms.SourceGroups, g.Jingle())
	}
	return out
}

// DefaultName is the source name Jitsi derives for an endpoint's idx-th
// source of a media type: "<endpoint>-a0", "<endpoint>-v1".
func DefaultName(endpointID string, media Media, idx int) string {
	letter := "a"
	if media == Video {
		letter = "v"
	}
	return endpointID + "-" + letter + strconv.Itoa(idx)
}

// FromColibri2 reads colibri2 <sources/>. With feedback set, they
// are the bridge's own sources from a conference-modified, and each gets the
// msid Jitsi clients expect for them ("mixedmslabel mixedlabelaudio0").
func FromColibri2(s *xmpp.Colibri2Sources, feedback bool) (Set, error) {
	var out collector
	if s == nil {
		return Set{}, nil
	}
	for _, ms := range s.MediaSources {
		media := Media(strings.ToLower(ms.Type))
		if media != Audio && media != Video {
			return Set{}, errorf(InvalidMedia, "Invalid media-source type: %q.", ms.Type)
		}
		for _, js := range ms.Sources {
			src := Source{SSRC: js.SSRC, Media: media, Name: js.Name, MSID: js.MSID(), VideoType: strings.ToLower(js.VideoType)}
			if feedback {
				src.MSID = "mixedmslabel mixedlabel" + string(media) + "0"
			}
			out.addSource(src)
		}
		for _, jg := range ms.SourceGroups {
			sem := strings.ToUpper(jg.Semantics)
			if sem != xmpp.JingleSemanticsSIM && sem != xmpp.JingleSemanticsFID {
				return Set{}, errorf(InvalidSemantics, "Invalid ssrc-group semantics: %s.", jg.Semantics)
			}
			out.addGroup(Group{Semantics: sem, Media: media, SSRCs: jg.SSRCs()})
		}
	}
	return out.set, nil
}
