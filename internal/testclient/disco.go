package testclient

import (
	"focal/xmpp"
	"focal/xmpp/caps"
)

// NSDiscoInfo is the namespace of service discovery queries (XEP-0030). The
// focus asks each participant for its features before offering it a session.
const NSDiscoInfo = "http://jabber.org/protocol/disco#info"

// Features a Jitsi Meet client advertises that change what the focus offers.
const (
	FeatureAudio       = "urn:xmpp:jingle:apps:rtp:audio"
	FeatureVideo       = "urn:xmpp:jingle:apps:rtp:video"
	FeatureSCTP        = "urn:xmpp:jingle:transports:dtls-sctp:1"
	FeatureSourceNames = "http://jitsi.org/source-name"
	FeatureJSONSources = "http://jitsi.org/json-encoded-sources"
)

// DefaultFeatures is what a Media endpoint advertises unless told otherwise:
// audio, video, a data channel and source names, the features every current
// Jitsi Meet client has.
func DefaultFeatures() []string {
	return []string{FeatureAudio, FeatureVideo, FeatureSCTP, FeatureSourceNames}
}

// isDiscoInfoGet reports whether req asks for our disco#info.
func isDiscoInfoGet(req *xmpp.Element) bool {
	return req.AttrValue("type") == xmpp.IQGet && req.Child(NSDiscoInfo, "query") != nil
}

// discoInfoResult answers a disco#info get with a web client identity and
// features. The node of the query, if any, is echoed, as XEP-0115 caps
// queries expect.
func discoInfoResult(req *xmpp.Element, features []string) *xmpp.Element {
	return xmpp.ResultFor(req, discoInfoQuery(req.Child(NSDiscoInfo, "query").AttrValue("node"), features))
}

func discoInfoQuery(node string, features []string) *xmpp.Element {
	q := xmpp.NewElement(NSDiscoInfo, "query", "node", node)
	q.Append(xmpp.NewElement(NSDiscoInfo, "identity", "category", "client", "type", "web", "name", "focal testclient"))
	for _, f := range features {
		q.Append(xmpp.NewElement(NSDiscoInfo, "feature", "var", f))
	}
	return q
}

// capsNode is the software a testclient's caps name.
const capsNode = "https://focal.invalid/testclient"

// capsOf is the <c/> (XEP-0115) a client answering disco#info with
// features announces in its presence, as lib-jitsi-meet does.
func capsOf(features []string) *xmpp.Element {
	ver, err := caps.Ver(discoInfoQuery("", features))
	if err != nil {
		return nil // duplicate features: a client announces nothing
	}
	return xmpp.NewElement(caps.NS, "c", "hash", "sha-1", "node", capsNode, "ver", ver)
}
