package participant

import (
	"sort"

	"github.com/asynkron/protoactor-go/actor"

	"focal/media/offer"
	"focal/xmpp"
)

// Features a Jitsi client advertises in disco#info that change what the
// focus offers it.
const (
	NSDiscoInfo = "http://jabber.org/protocol/disco#info"

	FeatureAudio       = "urn:xmpp:jingle:apps:rtp:audio"
	FeatureVideo       = "urn:xmpp:jingle:apps:rtp:video"
	FeatureSCTP        = "urn:xmpp:jingle:transports:dtls-sctp:1"
	FeatureRTX         = "urn:ietf:rfc:4588"
	FeatureREMB        = "http://jitsi.org/remb"
	FeatureTCC         = "http://jitsi.org/tcc"
	FeatureOpusRED     = "http://jitsi.org/opus-red"
	FeatureJSONSources = "http://jitsi.org/json-encoded-sources"
)

// discoResult is the answer to the participant's disco#info, or why there
// is none.
type discoResult struct {
	features []string
	err      error
}

func (p *participantActor) discoverFeatures() {
	iq := xmpp.NewIQ(xmpp.IQGet, "", p.occupantJID(), "", xmpp.NewElement(NSDiscoInfo, "query"))
	deliver := p.deliver
	p.cfg.Wire.Request(iq, p.cfg.RequestTimeout, func(res *xmpp.Element, err error) {
		var out discoResult
		out.err = err
		if err == nil {
			if q := res.Child(NSDiscoInfo, "query"); q != nil {
				for _, f := range q.ChildrenNamed(NSDiscoInfo, "feature") {
					if v := f.AttrValue("var"); v != "" {
						out.features = append(out.features, v)
					}
				}
			}
		}
		deliver(out)
	})
}

// onFeatures records the client's features and tells the conference the
// participant can be invited. A client that does not answer, or answers
// with nothing, gets Jicofo's fallback: audio, video and a data channel.
func (p *participantActor) onFeatures(ctx actor.Context, msg discoResult) {
	p.features = make(map[string]bool, len(msg.features))
	for _, f := range msg.features {
		p.features[f] = true
	}
	if msg.err != nil || len(p.features) == 0 {
		p.log.Info("client features unknown; using defaults", "err", msg.err)
		p.features = map[string]bool{FeatureAudio: true, FeatureVideo: true, FeatureSCTP: true}
	}
	ctx.Send(ctx.Parent(), &Ready{Nick: p.cfg.Nick, Offer: p.offerOptions()})
}

// offerOptions says what to offer this client (Jicofo offers REMB only to
// clients without transport-cc).
func (p *participantActor) offerOptions() offer.Options {
	f := p.features
	return offer.Options{
		Audio:   f[FeatureAudio],
		Video:   f[FeatureVideo],
		SCTP:    f[FeatureSCTP],
		TCC:     f[FeatureTCC],
		REMB:    f[FeatureREMB] && !f[FeatureTCC],
		RTX:     f[FeatureRTX],
		OpusRED: f[FeatureOpusRED],
	}
}

func (p *participantActor) jsonSources() bool {
	return p.cfg.JSONSources && p.features[FeatureJSONSources]
}

func sortedFeatures(f map[string]bool) []string {
	out := make([]string, 0, len(f))
	for k := range f {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
