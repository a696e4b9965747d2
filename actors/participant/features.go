package participant

import (
	"slices"

	"focal/media/offer"
	"focal/proto"
	"focal/xmpp"
	"focal/xmpp/caps"
)

// NSDiscoInfo is the namespace of the disco#info query the participant
// asks its client's features with.
const NSDiscoInfo = "http://jabber.org/protocol/disco#info"

// FeatureJSONSources is the feature of clients that read sources as
// <json-message/>; the features that shape the offer are media/offer's.
const FeatureJSONSources = "http://jitsi.org/json-encoded-sources"

// discoResult is the answer to the participant's disco#info, or why there
// is none.
type discoResult struct {
	features []string
	query    *xmpp.Element // the answer's <query/>, nil without one
	err      error
}

func (p *participantActor) discoverFeatures() {
	iq := xmpp.NewIQ(xmpp.IQGet, "", p.occupantJID(), "", xmpp.NewElement(NSDiscoInfo, "query"))
	deliver := p.deliver
	p.request(iq, focalpb.OutgoingKind_OUTGOING_REQUEST, "", func(res *xmpp.Element, err error) {
		var out discoResult
		out.err = err
		if err == nil {
			if q := res.Child(NSDiscoInfo, "query"); q != nil {
				out.query, out.features = q, caps.Features(q)
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
	if msg.query != nil && p.cfg.Caps.Ver != "" && p.cfg.CapsCache.Learn(p.cfg.Caps, msg.query) {
		p.log.Debug("caps proved; the next client announcing them is not asked", "ver", p.cfg.Caps.Ver)
	}
	if msg.err != nil || len(features) == 0 {
		p.log.Info("client features unknown; using defaults", "err", msg.err)
		features = []string{offer.FeatureAudio, offer.FeatureVideo, offer.FeatureSCTP}
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

func (p *participantActor) jsonSources() bool {
	return p.cfg.JSONSources && p.features[FeatureJSONSources]
}
