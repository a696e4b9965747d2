package xmpp

// Namespaces of the ICE-UDP transport (XEP-0176), its DTLS fingerprint
// (XEP-0320) and SCTP map, and the colibri v1 namespace of <web-socket url/>,
// which bridges still put inside ICE transports.
const (
	JingleNSICEUDP   = "urn:xmpp:jingle:transports:ice-udp:1"
	JingleNSDTLS     = "urn:xmpp:jingle:apps:dtls:0"
	JingleNSDTLSSCTP = "urn:xmpp:jingle:transports:dtls-sctp:1"
	JingleNSColibri  = "http://jitsi.org/protocol/colibri"
)

// JingleICETransport is <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'/>
// (XEP-0176) with the DTLS fingerprint (XEP-0320), the SCTP map of the data
// channel and the bridge's websocket. Colibri2 nests the same element.
type JingleICETransport struct {
	Ufrag string `xml:"ufrag,attr,omitempty"`
	Pwd   string `xml:"pwd,attr,omitempty"`
	// ICEGeneration is set by a bridge on the credentials of an in-place ICE
	// restart; 0 means not present.
	ICEGeneration int `xml:"ice-generation,attr,omitempty"`

	RTCPMux      *JingleEmpty        `xml:"rtcp-mux"`
	Fingerprints []JingleFingerprint `xml:"urn:xmpp:jingle:apps:dtls:0 fingerprint"`
	Candidates   []JingleCandidate   `xml:"candidate"`
	SCTPMap      *JingleSCTPMap      `xml:"urn:xmpp:jingle:transports:dtls-sctp:1 sctpmap"`
	WebSockets   []JingleWebSocket   `xml:"http://jitsi.org/protocol/colibri web-socket"`
	Extra        []JingleRawElement  `xml:",any"`
}

// Clone returns a deep copy of t (nil for nil).
func (t *JingleICETransport) Clone() *JingleICETransport {
	if t == nil {
		return nil
	}
	c := *t
	if t.RTCPMux != nil {
		c.RTCPMux = &JingleEmpty{}
	}
	c.Fingerprints = append([]JingleFingerprint(nil), t.Fingerprints...)
	c.Candidates = append([]JingleCandidate(nil), t.Candidates...)
	if t.SCTPMap != nil {
		m := *t.SCTPMap
		c.SCTPMap = &m
	}
	c.WebSockets = append([]JingleWebSocket(nil), t.WebSockets...)
	c.Extra = nil
	for _, e := range t.Extra {
		c.Extra = append(c.Extra, e.Clone())
	}
	return &c
}

// Values of the setup attribute of a DTLS fingerprint (RFC 4145).
const (
	JingleSetupActive  = "active"
	JingleSetupPassive = "passive"
	JingleSetupActPass = "actpass"
)

// JingleFingerprint is <fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0'/>.
type JingleFingerprint struct {
	Hash     string `xml:"hash,attr"`
	Setup    string `xml:"setup,attr,omitempty"`
	Required string `xml:"required,attr,omitempty"`
	Cryptex  bool   `xml:"cryptex,attr,omitempty"`
	Value    string `xml:",chardata"`
}

// JingleCandidate is an ICE <candidate/> (XEP-0176 §5.3).
type JingleCandidate struct {
	Component  int    `xml:"component,attr"`
	Foundation string `xml:"foundation,attr"`
	Generation int    `xml:"generation,attr"`
	ID         string `xml:"id,attr,omitempty"`
	IP         string `xml:"ip,attr"`
	Network    int    `xml:"network,attr"`
	Port       int    `xml:"port,attr"`
	Priority   int64  `xml:"priority,attr"`
	Protocol   string `xml:"protocol,attr"`
	RelAddr    string `xml:"rel-addr,attr,omitempty"`
	RelPort    int    `xml:"rel-port,attr,omitempty"`
	TCPType    string `xml:"tcptype,attr,omitempty"`
	Type       string `xml:"type,attr"`
}

// JingleSCTPProtocolDataChannel is the protocol of the data channel's
// <sctpmap/>.
const JingleSCTPProtocolDataChannel = "webrtc-datachannel"

// JingleSCTPMap is <sctpmap xmlns='urn:xmpp:jingle:transports:dtls-sctp:1'
// number protocol streams/>, the data channel's SCTP port.
type JingleSCTPMap struct {
	Number   int    `xml:"number,attr"`
	Protocol string `xml:"protocol,attr"`
	Streams  int    `xml:"streams,attr"`
}

// JingleWebSocket is <web-socket xmlns='http://jitsi.org/protocol/colibri' url/>,
// the bridge channel a client may open instead of SCTP.
type JingleWebSocket struct {
	URL    string `xml:"url,attr"`
	Active bool   `xml:"active,attr,omitempty"`
}
