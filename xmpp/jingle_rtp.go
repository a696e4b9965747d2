package xmpp

// Namespaces of the RTP application (XEP-0167) and of the RTCP feedback
// (XEP-0293) and header extensions (XEP-0294) inside its description.
const (
	JingleNSRTP       = "urn:xmpp:jingle:apps:rtp:1"
	JingleNSRTCPFB    = "urn:xmpp:jingle:apps:rtp:rtcp-fb:0"
	JingleNSRTPHdrExt = "urn:xmpp:jingle:apps:rtp:rtp-hdrext:0"
)

// Media types of an RTP description (the media of an SDP m-line).
const (
	JingleMediaAudio       = "audio"
	JingleMediaVideo       = "video"
	JingleMediaApplication = "application"
)

// JingleRTPDescription is <description xmlns='urn:xmpp:jingle:apps:rtp:1'/>.
type JingleRTPDescription struct {
	Media    string `xml:"media,attr,omitempty"`
	MaxPTime int    `xml:"maxptime,attr,omitempty"`

	PayloadTypes []JinglePayloadType `xml:"payload-type"`
	// RTCPFeedback applies to every payload type ("a=rtcp-fb:*").
	RTCPFeedback     []JingleRTCPFeedback `xml:"urn:xmpp:jingle:apps:rtp:rtcp-fb:0 rtcp-fb"`
	HeaderExtensions []JingleRTPHdrExt    `xml:"urn:xmpp:jingle:apps:rtp:rtp-hdrext:0 rtp-hdrext"`
	ExtmapAllowMixed *JingleEmpty         `xml:"urn:xmpp:jingle:apps:rtp:rtp-hdrext:0 extmap-allow-mixed"`
	Sources          []JingleSource       `xml:"urn:xmpp:jingle:apps:rtp:ssma:0 source"`
	SourceGroups     []JingleSourceGroup  `xml:"urn:xmpp:jingle:apps:rtp:ssma:0 ssrc-group"`
	RTCPMux          *JingleEmpty         `xml:"rtcp-mux"`
	Extra            []JingleRawElement   `xml:",any"`
}

// JingleEmpty is an element whose presence is the information
// (<rtcp-mux/>, <extmap-allow-mixed/>).
type JingleEmpty struct{}

// JinglePayloadType is <payload-type/>: one codec (an "a=rtpmap" line with
// its "a=fmtp" parameters and "a=rtcp-fb" lines).
type JinglePayloadType struct {
	ID        int    `xml:"id,attr"`
	Name      string `xml:"name,attr,omitempty"`
	ClockRate int    `xml:"clockrate,attr,omitempty"`
	Channels  int    `xml:"channels,attr,omitempty"`
	MaxPTime  int    `xml:"maxptime,attr,omitempty"`
	PTime     int    `xml:"ptime,attr,omitempty"`

	Parameters   []JingleParameter    `xml:"parameter"`
	RTCPFeedback []JingleRTCPFeedback `xml:"urn:xmpp:jingle:apps:rtp:rtcp-fb:0 rtcp-fb"`
	Extra        []JingleRawElement   `xml:",any"`
}

// Parameter returns the value of the named parameter, and whether it exists.
func (p *JinglePayloadType) Parameter(name string) (string, bool) {
	for _, prm := range p.Parameters {
		if prm.Name == name {
			return prm.Value, true
		}
	}
	return "", false
}

// JingleParameter is <parameter name value/>, used for fmtp parameters (in the
// RTP namespace) and for source parameters such as msid (in the SSMA one). The
// name may be empty: RED's fmtp has a bare value.
type JingleParameter struct {
	Name  string `xml:"name,attr,omitempty"`
	Value string `xml:"value,attr"`
}

// JingleRTCPFeedback is <rtcp-fb type subtype/> (XEP-0293).
type JingleRTCPFeedback struct {
	Type    string `xml:"type,attr"`
	Subtype string `xml:"subtype,attr,omitempty"`
}

// JingleRTPHdrExt is <rtp-hdrext id uri/> (XEP-0294), an "a=extmap" line.
type JingleRTPHdrExt struct {
	ID         int               `xml:"id,attr"`
	URI        string            `xml:"uri,attr"`
	Senders    string            `xml:"senders,attr,omitempty"`
	Parameters []JingleParameter `xml:"parameter"`
}
