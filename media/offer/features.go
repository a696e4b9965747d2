package offer

import "slices"

// Features a Jitsi client advertises in disco#info that change what the
// focus offers it.
const (
	FeatureAudio   = "urn:xmpp:jingle:apps:rtp:audio"
	FeatureVideo   = "urn:xmpp:jingle:apps:rtp:video"
	FeatureSCTP    = "urn:xmpp:jingle:transports:dtls-sctp:1"
	FeatureRTX     = "urn:ietf:rfc:4588"
	FeatureREMB    = "http://jitsi.org/remb"
	FeatureTCC     = "http://jitsi.org/tcc"
	FeatureOpusRED = "http://jitsi.org/opus-red"
)

// For says what to offer a client with these features, nil while they are
// unknown (none). Jicofo offers REMB only to clients without transport-cc.
func For(features []string) *Options {
	if len(features) == 0 {
		return nil
	}
	has := func(f string) bool { return slices.Contains(features, f) }
	return &Options{
		Audio:   has(FeatureAudio),
		Video:   has(FeatureVideo),
		SCTP:    has(FeatureSCTP),
		TCC:     has(FeatureTCC),
		REMB:    has(FeatureREMB) && !has(FeatureTCC),
		RTX:     has(FeatureRTX),
		OpusRED: has(FeatureOpusRED),
	}
}
