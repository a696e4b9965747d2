package xmpp

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// SourceMedia is the media type of a source: audio or video.
type SourceMedia string

// Media types that carry sources.
const (
	SourceAudio SourceMedia = "audio"
	SourceVideo SourceMedia = "video"
)

// Video types of a video source.
const (
	SourceVideoCamera  = "camera"
	SourceVideoDesktop = "desktop"
)

// SourceOwnerBridge is the owner Jitsi clients expect on the bridge's own
// ("feedback") sources.
const SourceOwnerBridge = "jvb"

// Default per-endpoint limits (Jicofo's conference.max-ssrcs-per-user and
// max-ssrc-groups-per-user).
const (
	SourceDefaultMaxSSRCs  = 20
	SourceDefaultMaxGroups = 20
)

// Source is one RTP stream an endpoint sends: an SSRC with its properties.
type Source struct {
	SSRC      int64 // valid SSRCs are 1..2^32-1
	Media     SourceMedia
	Name      string // source name, e.g. "abcd1234-v0"
	MSID      string
	VideoType string // SourceVideoCamera, SourceVideoDesktop or ""
}

// SourceGroup groups SSRCs of one endpoint: simulcast layers (SIM) or a
// stream and its retransmission stream (FID).
type SourceGroup struct {
	Semantics string // JingleSemanticsSIM or JingleSemanticsFID
	Media     SourceMedia
	SSRCs     []int64
}

// Equal reports whether g and o have the same semantics, media and SSRCs in
// the same order.
func (g SourceGroup) Equal(o SourceGroup) bool {
	return g.Semantics == o.Semantics && g.Media == o.Media && slices.Equal(g.SSRCs, o.SSRCs)
}

func (g SourceGroup) sameSSRCs(o SourceGroup) bool {
	return g.Semantics == o.Semantics && slices.Equal(g.SSRCs, o.SSRCs)
}

func (g SourceGroup) contains(ssrc int64) bool { return slices.Contains(g.SSRCs, ssrc) }

// key identifies g for de-duplication (equal groups have equal keys).
func (g SourceGroup) key() string {
	return g.Semantics + "/" + string(g.Media) + sourceListString(g.SSRCs)
}

// sourceCollector builds a SourceSet from parsed elements, dropping repeats
// in linear time (a hostile stanza may carry thousands of them).
type sourceCollector struct {
	set     SourceSet
	sources map[Source]bool
	groups  map[string]bool
}

func (c *sourceCollector) addSource(src Source) {
	if c.sources == nil {
		c.sources = map[Source]bool{}
	}
	if !c.sources[src] {
		c.sources[src] = true
		c.set.Sources = append(c.set.Sources, src)
	}
}

func (c *sourceCollector) addGroup(g SourceGroup) {
	if c.groups == nil {
		c.groups = map[string]bool{}
	}
	if k := g.key(); !c.groups[k] {
		c.groups[k] = true
		c.set.Groups = append(c.set.Groups, g)
	}
}

// SourceSet is the sources and source groups of one endpoint. Its methods
// never modify the receiver; they return new sets.
type SourceSet struct {
	Sources []Source
	Groups  []SourceGroup
}

// Empty reports whether s has neither sources nor groups.
func (s SourceSet) Empty() bool { return len(s.Sources) == 0 && len(s.Groups) == 0 }

// Clone returns a deep copy of s.
func (s SourceSet) Clone() SourceSet {
	c := SourceSet{Sources: slices.Clone(s.Sources)}
	for _, g := range s.Groups {
		g.SSRCs = slices.Clone(g.SSRCs)
		c.Groups = append(c.Groups, g)
	}
	return c
}

// Find returns the source with the given SSRC.
func (s SourceSet) Find(ssrc int64) (Source, bool) {
	for _, src := range s.Sources {
		if src.SSRC == ssrc {
			return src, true
		}
	}
	return Source{}, false
}

// SSRCs returns the SSRCs of the sources of the given media ("" for all).
func (s SourceSet) SSRCs(media SourceMedia) []int64 {
	var out []int64
	for _, src := range s.Sources {
		if media == "" || src.Media == media {
			out = append(out, src.SSRC)
		}
	}
	return out
}

// HasGroup reports whether s has a group equal to g.
func (s SourceSet) HasGroup(g SourceGroup) bool {
	return slices.ContainsFunc(s.Groups, g.Equal)
}

// Union returns the sources and groups of s followed by those of o that s
// does not already have.
func (s SourceSet) Union(o SourceSet) SourceSet {
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
func (s SourceSet) Minus(o SourceSet) SourceSet {
	var out SourceSet
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
func (s SourceSet) StripSimulcast() SourceSet {
	drop := map[int64]bool{}
	var dropGroups []SourceGroup
	for _, g := range s.Groups {
		if g.Semantics != JingleSemanticsSIM {
			continue
		}
		dropGroups = append(dropGroups, g)
		for _, ssrc := range g.SSRCs[min(1, len(g.SSRCs)):] {
			drop[ssrc] = true
		}
	}
	for _, g := range s.Groups {
		if g.Semantics == JingleSemanticsFID && len(g.SSRCs) == 2 && drop[g.SSRCs[0]] {
			drop[g.SSRCs[1]] = true
			dropGroups = append(dropGroups, g)
		}
	}
	var out SourceSet
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

func (s SourceSet) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "[audio=%v, video=%v, groups=[", s.SSRCs(SourceAudio), s.SSRCs(SourceVideo))
	for i, g := range s.Groups {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(g.Semantics)
		b.WriteString(sourceListString(g.SSRCs))
	}
	b.WriteString("]]")
	return b.String()
}

// SourceErrorKind says which rule a source change broke.
type SourceErrorKind int

// Kinds of SourceError.
const (
	SourceInvalidSSRC       SourceErrorKind = iota + 1 // SSRC outside 1..2^32-1
	SourceSSRCInUse                                    // SSRC already signalled in the conference
	SourceSSRCLimit                                    // too many sources for one endpoint
	SourceGroupLimit                                   // too many groups for one endpoint
	SourceMSIDInUse                                    // MSID used by another endpoint or another stream
	SourceMSIDMissing                                  // grouped source without msid
	SourceGroupMSIDMismatch                            // sources of one group with different msids
	SourceGroupUnknownSSRC                             // group references an SSRC the endpoint has not signalled
	SourceInvalidFIDGroup                              // FID group without exactly 2 distinct SSRCs
	SourceInvalidSIMGroup                              // SIM group without 2 or 3 distinct SSRCs
	SourceInvalidSemantics                             // group semantics other than SIM or FID
	SourceInvalidMedia                                 // source or group outside audio and video
	SourceInvalidVideoType                             // video type other than camera or desktop
	SourceNotOwned                                     // removal of a source the endpoint does not have
	SourceGroupNotOwned                                // removal of a group the endpoint does not have
)

// SourceError is a rejected source change. Reason is a sentence for the
// peer; callers answer the request with a bad-request stanza error carrying
// it.
type SourceError struct {
	Kind   SourceErrorKind
	Reason string
}

func (e *SourceError) Error() string { return e.Reason }

func sourceErr(kind SourceErrorKind, format string, args ...any) *SourceError {
	return &SourceError{Kind: kind, Reason: fmt.Sprintf(format, args...)}
}

func sourceListString(ssrcs []int64) string {
	parts := make([]string, len(ssrcs))
	for i, s := range ssrcs {
		parts[i] = strconv.FormatInt(s, 10)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// SourceLookup is the conference state a SourceValidator checks against.
type SourceLookup interface {
	// SourcesOf returns the sources of an endpoint (empty if none).
	SourcesOf(owner string) SourceSet
	// SSRCOwner returns the endpoint that signalled ssrc.
	SSRCOwner(ssrc int64) (string, bool)
	// MSIDOwner returns the endpoint that signalled a source with msid.
	MSIDOwner(msid string) (string, bool)
}

// SourceValidator checks additions and removals of sources by one endpoint.
// Its methods are pure: they compute what would be accepted and change
// nothing.
type SourceValidator struct {
	MaxSSRCs  int // sources per endpoint; 0 means SourceDefaultMaxSSRCs
	MaxGroups int // groups per endpoint; 0 means SourceDefaultMaxGroups
}

func (v SourceValidator) limits() (int, int) {
	maxSSRCs, maxGroups := v.MaxSSRCs, v.MaxGroups
	if maxSSRCs <= 0 {
		maxSSRCs = SourceDefaultMaxSSRCs
	}
	if maxGroups <= 0 {
		maxGroups = SourceDefaultMaxGroups
	}
	return maxSSRCs, maxGroups
}

const sourceMaxSSRC = 1<<32 - 1

// CheckAdd validates that owner may add add to the conference described by
// conf and returns the accepted change: add's sources, and its groups minus
// empty ones and ones the endpoint already has (those are ignored, not
// errors).
func (v SourceValidator) CheckAdd(conf SourceLookup, owner string, add SourceSet) (SourceSet, error) {
	maxSSRCs, maxGroups := v.limits()
	existing := conf.SourcesOf(owner)

	var accepted SourceSet
	seen := map[int64]bool{}
	for _, src := range add.Sources {
		if len(existing.Sources)+len(accepted.Sources) >= maxSSRCs {
			return SourceSet{}, sourceErr(SourceSSRCLimit, "SSRC limit (%d) exceeded.", maxSSRCs)
		}
		if src.Media != SourceAudio && src.Media != SourceVideo {
			return SourceSet{}, sourceErr(SourceInvalidMedia, "Invalid media type for SSRC %d: %q.", src.SSRC, src.Media)
		}
		if src.SSRC <= 0 || src.SSRC > sourceMaxSSRC {
			return SourceSet{}, sourceErr(SourceInvalidSSRC, "Invalid SSRC: %d.", src.SSRC)
		}
		if _, used := conf.SSRCOwner(src.SSRC); used || seen[src.SSRC] {
			return SourceSet{}, sourceErr(SourceSSRCInUse, "SSRC is already used: %d.", src.SSRC)
		}
		seen[src.SSRC] = true
		if src.VideoType != "" && src.VideoType != SourceVideoCamera && src.VideoType != SourceVideoDesktop {
			return SourceSet{}, sourceErr(SourceInvalidVideoType, "Invalid video type: %q.", src.VideoType)
		}
		if src.MSID != "" {
			if o, ok := conf.MSIDOwner(src.MSID); ok && o != owner {
				return SourceSet{}, sourceErr(SourceMSIDInUse, "MSID is already used: %s.", src.MSID)
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
		if g.Semantics != JingleSemanticsSIM && g.Semantics != JingleSemanticsFID {
			return SourceSet{}, sourceErr(SourceInvalidSemantics, "Invalid ssrc-group semantics: %s.", g.Semantics)
		}
		if len(g.SSRCs) == 0 || known[g.key()] {
			continue // empty and repeated groups are ignored
		}
		if len(existing.Groups)+len(accepted.Groups) >= maxGroups {
			return SourceSet{}, sourceErr(SourceGroupLimit, "ssrc-group limit (%d) exceeded.", maxGroups)
		}
		known[g.key()] = true
		for _, ssrc := range g.SSRCs {
			if !signalled[ssrc] {
				return SourceSet{}, sourceErr(SourceGroupUnknownSSRC,
					"An SSRC group contains an SSRC, which hasn't been signaled as a source: %s.", sourceListString(g.SSRCs))
			}
		}
		g.SSRCs = slices.Clone(g.SSRCs)
		accepted.Groups = append(accepted.Groups, g)
	}

	result := SourceSet{
		Sources: append(slices.Clone(existing.Sources), accepted.Sources...),
		Groups:  append(slices.Clone(existing.Groups), accepted.Groups...),
	}
	if err := sourceValidateSet(result); err != nil {
		return SourceSet{}, err
	}
	return accepted, nil
}

// CheckRemove validates that owner may remove rm and returns what would be
// removed: the endpoint's own sources with rm's SSRCs (other properties need
// not match), the groups named in rm, and every group containing a removed
// SSRC.
func (v SourceValidator) CheckRemove(conf SourceLookup, owner string, rm SourceSet) (SourceSet, error) {
	if rm.Empty() {
		return SourceSet{}, nil
	}
	existing := conf.SourcesOf(owner)
	if existing.Empty() {
		return SourceSet{}, sourceErr(SourceNotOwned, "Source does not exist or is not owned by endpoint %s.", owner)
	}
	var removed SourceSet
	gone := map[int64]bool{}
	for _, src := range rm.Sources {
		have, ok := existing.Find(src.SSRC)
		if !ok {
			return SourceSet{}, sourceErr(SourceNotOwned,
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
			return SourceSet{}, sourceErr(SourceGroupNotOwned,
				"Source group does not exist: %s%s.", g.Semantics, sourceListString(g.SSRCs))
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
	if err := sourceValidateSet(existing.Minus(removed)); err != nil {
		return SourceSet{}, err
	}
	return removed, nil
}

// sourceValidateSet checks the rules that hold for a whole endpoint source
// set: group sizes, msids of grouped sources, and one msid per stream.
func sourceValidateSet(set SourceSet) error {
	for _, g := range set.Groups {
		distinct := len(g.SSRCs)
		for i, s := range g.SSRCs {
			if slices.Contains(g.SSRCs[:i], s) {
				distinct = -1
				break
			}
		}
		switch g.Semantics {
		case JingleSemanticsFID:
			if distinct != 2 {
				return sourceErr(SourceInvalidFIDGroup, "Invalid FID group: %s.", sourceListString(g.SSRCs))
			}
		case JingleSemanticsSIM:
			if distinct < 2 || distinct > 3 {
				return sourceErr(SourceInvalidSIMGroup, "Invalid SIM group: %s.", sourceListString(g.SSRCs))
			}
		}
		msid := ""
		for _, ssrc := range g.SSRCs {
			src, ok := set.Find(ssrc)
			if !ok {
				return sourceErr(SourceGroupUnknownSSRC,
					"An SSRC group contains an SSRC, which hasn't been signaled as a source: %s.", sourceListString(g.SSRCs))
			}
			if src.MSID == "" {
				return sourceErr(SourceMSIDMissing, "Required source parameter 'msid' is not present.")
			}
			if msid == "" {
				msid = src.MSID
			} else if src.MSID != msid {
				return sourceErr(SourceGroupMSIDMismatch,
					"SsrcGroup contains sources with different MSIDs: %s.", sourceListString(g.SSRCs))
			}
		}
	}
	// Each stream (a simulcast group with its FIDs, a lone FID group, or an
	// ungrouped source) has one msid, not shared with another stream of the
	// same media type.
	for _, media := range []SourceMedia{SourceAudio, SourceVideo} {
		owner := map[string]string{} // msid -> stream key
		for _, src := range set.Sources {
			if src.Media != media || src.MSID == "" {
				continue
			}
			key := sourceStreamKey(set.Groups, src.SSRC)
			if k, ok := owner[src.MSID]; ok && k != key {
				return sourceErr(SourceMSIDInUse, "MSID is already used: %s.", src.MSID)
			}
			owner[src.MSID] = key
		}
	}
	return nil
}

// sourceStreamKey names the stream ssrc belongs to: its SIM group, the SIM
// group of the primary SSRC of its FID group, its FID group, or itself.
func sourceStreamKey(groups []SourceGroup, ssrc int64) string {
	for i, g := range groups {
		if g.Semantics == JingleSemanticsSIM && g.contains(ssrc) {
			return "g" + strconv.Itoa(i)
		}
	}
	for i, g := range groups {
		if g.Semantics != JingleSemanticsFID || !g.contains(ssrc) {
			continue
		}
		if len(g.SSRCs) == 2 && g.SSRCs[1] == ssrc {
			for j, sim := range groups {
				if sim.Semantics == JingleSemanticsSIM && sim.contains(g.SSRCs[0]) {
					return "g" + strconv.Itoa(j)
				}
			}
		}
		return "g" + strconv.Itoa(i)
	}
	return "s" + strconv.FormatInt(ssrc, 10)
}

// ConferenceSources holds the validated sources of every endpoint of a
// conference. It is not safe for concurrent use: the conference that owns it
// serialises access.
type ConferenceSources struct {
	validator SourceValidator
	owners    map[string]SourceSet
	ssrcOwner map[int64]string
	msidOwner map[string]string
}

// NewConferenceSources returns an empty map enforcing v's limits.
func NewConferenceSources(v SourceValidator) *ConferenceSources {
	return &ConferenceSources{
		validator: v,
		owners:    map[string]SourceSet{},
		ssrcOwner: map[int64]string{},
		msidOwner: map[string]string{},
	}
}

// SourcesOf returns a copy of owner's sources.
func (c *ConferenceSources) SourcesOf(owner string) SourceSet { return c.owners[owner].Clone() }

// SSRCOwner returns the endpoint that signalled ssrc.
func (c *ConferenceSources) SSRCOwner(ssrc int64) (string, bool) {
	o, ok := c.ssrcOwner[ssrc]
	return o, ok
}

// MSIDOwner returns the endpoint that signalled a source with msid.
func (c *ConferenceSources) MSIDOwner(msid string) (string, bool) {
	o, ok := c.msidOwner[msid]
	return o, ok
}

// Owners returns the endpoints that have sources, sorted.
func (c *ConferenceSources) Owners() []string {
	out := make([]string, 0, len(c.owners))
	for o := range c.owners {
		out = append(out, o)
	}
	sort.Strings(out)
	return out
}

// All returns a copy of every endpoint's sources, by owner.
func (c *ConferenceSources) All() map[string]SourceSet {
	out := make(map[string]SourceSet, len(c.owners))
	for o, s := range c.owners {
		out[o] = s.Clone()
	}
	return out
}

// Except returns a copy of the sources of every endpoint but owner: what a
// new participant is told about.
func (c *ConferenceSources) Except(owner string) map[string]SourceSet {
	out := c.All()
	delete(out, owner)
	return out
}

// TryAdd validates and applies an addition of sources by owner, returning
// what was accepted. On error nothing changes.
func (c *ConferenceSources) TryAdd(owner string, add SourceSet) (SourceSet, error) {
	accepted, err := c.validator.CheckAdd(c, owner, add)
	if err != nil || accepted.Empty() {
		return accepted, err
	}
	c.set(owner, c.owners[owner].Union(accepted))
	return accepted, nil
}

// TryRemove validates and applies a removal of sources by owner, returning
// what was removed. On error nothing changes.
func (c *ConferenceSources) TryRemove(owner string, rm SourceSet) (SourceSet, error) {
	removed, err := c.validator.CheckRemove(c, owner, rm)
	if err != nil || removed.Empty() {
		return removed, err
	}
	c.set(owner, c.owners[owner].Minus(removed))
	return removed, nil
}

// RemoveOwner drops every source of owner (the endpoint left) and returns
// them.
func (c *ConferenceSources) RemoveOwner(owner string) SourceSet {
	old := c.owners[owner]
	c.set(owner, SourceSet{})
	return old
}

// set replaces owner's sources and keeps the SSRC and MSID indexes in step.
func (c *ConferenceSources) set(owner string, s SourceSet) {
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

// SourceMediaOf maps a content's description media (or, without one, the
// content name) to a source media type.
func SourceMediaOf(c *JingleContent) (SourceMedia, bool) {
	m := c.Name
	if c.Description != nil && c.Description.Media != "" {
		m = c.Description.Media
	}
	switch SourceMedia(strings.ToLower(m)) {
	case SourceAudio:
		return SourceAudio, true
	case SourceVideo:
		return SourceVideo, true
	}
	return "", false
}

// SourceSetFromJingle reads the sources and groups of the audio and video
// contents (in their descriptions, and directly under <content/>). Sources
// without an SSRC (RID simulcast) are skipped. Unknown group semantics, video
// types, or sources in a content that is neither audio nor video are errors.
func SourceSetFromJingle(contents []JingleContent) (SourceSet, error) {
	var out sourceCollector
	for i := range contents {
		c := &contents[i]
		var srcs []JingleSource
		var groups []JingleSourceGroup
		srcs = append(srcs, c.Sources...)
		if c.Description != nil {
			srcs = append(srcs, c.Description.Sources...)
			groups = c.Description.SourceGroups
		}
		if len(srcs) == 0 && len(groups) == 0 {
			continue
		}
		media, ok := SourceMediaOf(c)
		if !ok {
			return SourceSet{}, sourceErr(SourceInvalidMedia, "Sources in content %q of unsupported media.", c.Name)
		}
		for _, js := range srcs {
			if js.SSRC == 0 && js.RID != "" {
				continue
			}
			src := Source{SSRC: js.SSRC, Media: media, Name: js.Name, MSID: js.MSID()}
			if js.VideoType != "" {
				vt := strings.ToLower(js.VideoType)
				if vt != SourceVideoCamera && vt != SourceVideoDesktop {
					return SourceSet{}, sourceErr(SourceInvalidVideoType, "Invalid video type: %q.", js.VideoType)
				}
				src.VideoType = vt
			}
			out.addSource(src)
		}
		for _, jg := range groups {
			sem := strings.ToUpper(jg.Semantics)
			if sem != JingleSemanticsSIM && sem != JingleSemanticsFID {
				return SourceSet{}, sourceErr(SourceInvalidSemantics, "Invalid ssrc-group semantics: %s.", jg.Semantics)
			}
			out.addGroup(SourceGroup{Semantics: sem, Media: media, SSRCs: jg.SSRCs()})
		}
	}
	return out.set, nil
}

// Jingle returns the <source/> element for src; owner, when not empty, is
// written as its <ssrc-info owner/>.
func (src Source) Jingle(owner string) JingleSource {
	js := JingleSource{SSRC: src.SSRC, Name: src.Name, VideoType: src.VideoType}
	if owner != "" {
		js.SSRCInfo = &JingleSSRCInfo{Owner: owner}
	}
	if src.MSID != "" {
		js.Parameters = []JingleParameter{{Name: JingleParameterMSID, Value: src.MSID}}
	}
	return js
}

// Jingle returns the <ssrc-group/> element for g.
func (g SourceGroup) Jingle() JingleSourceGroup {
	jg := JingleSourceGroup{Semantics: g.Semantics}
	for _, s := range g.SSRCs {
		jg.Sources = append(jg.Sources, JingleSource{SSRC: s})
	}
	return jg
}

// JingleContents returns audio and video contents (only those with
// something to say) describing s, each source tagged with owner.
func (s SourceSet) JingleContents(owner string) []JingleContent {
	return JingleContentsWithSources(nil, map[string]SourceSet{owner: s})
}

// JingleContentsWithSources returns a copy of base with the sources of every
// owner added to the descriptions of its audio and video contents, creating
// those contents when base lacks them. Owners are written in sorted order.
// This is how an offer, source-add or source-remove carries sources when the
// client does not take them as JSON.
func JingleContentsWithSources(base []JingleContent, sources map[string]SourceSet) []JingleContent {
	out := make([]JingleContent, len(base))
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
	description := func(media SourceMedia) *JingleRTPDescription {
		for i := range out {
			if m, ok := SourceMediaOf(&out[i]); ok && m == media {
				if out[i].Description == nil {
					out[i].Description = &JingleRTPDescription{Media: string(media)}
				}
				return out[i].Description
			}
		}
		out = append(out, JingleContent{
			Name:        string(media),
			Description: &JingleRTPDescription{Media: string(media)},
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

// Colibri2Sources returns s as the <sources/> of a colibri2 endpoint: one
// <media-source/> per source name (named endpointID-a0 / -v0 when the
// client sent no names), with the groups in the media source of their first
// SSRC. The msid is not sent to the bridge.
func (s SourceSet) Colibri2Sources(endpointID string) *Colibri2Sources {
	out := &Colibri2Sources{}
	index := map[string]int{}
	mediaSource := func(id string, media SourceMedia) *Colibri2MediaSource {
		if i, ok := index[id]; ok {
			return &out.MediaSources[i]
		}
		index[id] = len(out.MediaSources)
		out.MediaSources = append(out.MediaSources, Colibri2MediaSource{Type: string(media), ID: id})
		return &out.MediaSources[len(out.MediaSources)-1]
	}
	idOf := func(name string, media SourceMedia) string {
		if name != "" {
			return name
		}
		return SourceDefaultName(endpointID, media, 0)
	}
	for _, src := range s.Sources {
		ms := mediaSource(idOf(src.Name, src.Media), src.Media)
		ms.Sources = append(ms.Sources, JingleSource{SSRC: src.SSRC, Name: src.Name, VideoType: src.VideoType})
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

// SourceDefaultName is the source name Jitsi derives for an endpoint's idx-th
// source of a media type: "<endpoint>-a0", "<endpoint>-v1".
func SourceDefaultName(endpointID string, media SourceMedia, idx int) string {
	letter := "a"
	if media == SourceVideo {
		letter = "v"
	}
	return endpointID + "-" + letter + strconv.Itoa(idx)
}

// SourceSetFromColibri2 reads colibri2 <sources/>. With feedback set, they
// are the bridge's own sources from a conference-modified, and each gets the
// msid Jitsi clients expect for them ("mixedmslabel mixedlabelaudio0").
func SourceSetFromColibri2(s *Colibri2Sources, feedback bool) (SourceSet, error) {
	var out sourceCollector
	if s == nil {
		return SourceSet{}, nil
	}
	for _, ms := range s.MediaSources {
		media := SourceMedia(strings.ToLower(ms.Type))
		if media != SourceAudio && media != SourceVideo {
			return SourceSet{}, sourceErr(SourceInvalidMedia, "Invalid media-source type: %q.", ms.Type)
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
			if sem != JingleSemanticsSIM && sem != JingleSemanticsFID {
				return SourceSet{}, sourceErr(SourceInvalidSemantics, "Invalid ssrc-group semantics: %s.", jg.Semantics)
			}
			out.addGroup(SourceGroup{Semantics: sem, Media: media, SSRCs: jg.SSRCs()})
		}
	}
	return out.set, nil
}
