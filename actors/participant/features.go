package participant

import (
	"focal/media/offer"
	"focal/xmpp"
	"slices"
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

// onFeatures records the client's features, which tells the conference
// (through the reported state) that the participant can be invited. A
// client that does not answer, or answers with nothing, gets Jicofo's
// fallback: audio, video and a data channel.
func (p *participantActor) onFeatures(msg discoResult) {
	features := msg.features
	if msg.err != nil || len(features) == 0 {
		p.log.Info("client features unknown; using defaults", "err", msg.err)
		features = []string{FeatureAudio, FeatureVideo, FeatureSCTP}
	}
	features = slices.Clone(features)
	slices.Sort(features)
	p.st.Features = slices.Compact(features)
	p.indexFeatures()
}

func (p *participantActor) indexFeatures() {
	p.features = make(map[string]bool, len(p.st.Features))
	for _, f := range p.st.Features {
		p.features[f] = true
	}
}

// Offer says what to offer a client with these features, nil while they
// are unknown (Jicofo offers REMB only to clients without transport-cc).
func Offer(features []string) *offer.Options {
	if len(features) == 0 {
		return nil
	}
	has := func(f string) bool { return slices.Contains(features, f) }
	return &offer.Options{
		Audio:   has(FeatureAudio),
		Video:   has(FeatureVideo),
		SCTP:    has(FeatureSCTP),
		TCC:     has(FeatureTCC),
		REMB:    has(FeatureREMB) && !has(FeatureTCC),
		RTX:     has(FeatureRTX),
		OpusRED: has(FeatureOpusRED),
	}
}

func (p *participantActor) jsonSources() bool {
	return p.cfg.JSONSources && p.features[FeatureJSONSources]
}
