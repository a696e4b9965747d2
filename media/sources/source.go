package sources

import (
	"slices"
)

// Media is the media type of a source: audio or video.
type Media string

// Media types that carry sources.
const (
	Audio Media = "audio"
	Video Media = "video"
)

// Video types of a video source.
const (
	VideoCamera  = "camera"
	VideoDesktop = "desktop"
)

// OwnerBridge is the owner Jitsi clients expect on the bridge's own
// ("feedback") sources.
const OwnerBridge = "jvb"

// Default per-endpoint limits (Jicofo's conference.max-ssrcs-per-user and
// max-ssrc-groups-per-user).
const (
	DefaultMaxSSRCs  = 20
	DefaultMaxGroups = 20
)

// Source is one RTP stream an endpoint sends: an SSRC with its properties.
type Source struct {
	SSRC      int64 // valid SSRCs are 1..2^32-1
	Media     Media
	Name      string // source name, e.g. "abcd1234-v0"
	MSID      string
	VideoType string // VideoCamera, VideoDesktop or ""
}

// Group groups SSRCs of one endpoint: simulcast layers (SIM) or a
// stream and its retransmission stream (FID).
type Group struct {
	Semantics string // xmpp.JingleSemanticsSIM or xmpp.JingleSemanticsFID
	Media     Media
	SSRCs     []int64
}

// Equal reports whether g and o have the same semantics, media and SSRCs in
// the same order.
func (g Group) Equal(o Group) bool {
	return g.Semantics == o.Semantics && g.Media == o.Media && slices.Equal(g.SSRCs, o.SSRCs)
}

func (g Group) sameSSRCs(o Group) bool {
	return g.Semantics == o.Semantics && slices.Equal(g.SSRCs, o.SSRCs)
}

func (g Group) contains(ssrc int64) bool { return slices.Contains(g.SSRCs, ssrc) }

// key identifies g for de-duplication (equal groups have equal keys).
func (g Group) key() string {
	return g.Semantics + "/" + string(g.Media) + ssrcList(g.SSRCs)
}
