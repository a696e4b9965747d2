package xmpp

import (
	"encoding/xml"
	"strings"
)

// Namespaces of Jingle (XEP-0166 and friends) and of the Jitsi extensions
// carried inside a <jingle/> element.
const (
	JingleNS          = "urn:xmpp:jingle:1"
	JingleNSRTP       = "urn:xmpp:jingle:apps:rtp:1"
	JingleNSICEUDP    = "urn:xmpp:jingle:transports:ice-udp:1"
	JingleNSDTLS      = "urn:xmpp:jingle:apps:dtls:0"
	JingleNSGrouping  = "urn:xmpp:jingle:apps:grouping:0"
	JingleNSSSMA      = "urn:xmpp:jingle:apps:rtp:ssma:0"
	JingleNSRTCPFB    = "urn:xmpp:jingle:apps:rtp:rtcp-fb:0"
	JingleNSRTPHdrExt = "urn:xmpp:jingle:apps:rtp:rtp-hdrext:0"
	JingleNSDTLSSCTP  = "urn:xmpp:jingle:transports:dtls-sctp:1"
	// JingleNSJitMeet holds <ssrc-info owner/> and <json-message/>.
	JingleNSJitMeet = "http://jitsi.org/jitmeet"
	// JingleNSFocus holds <bridge-session/> and <ice-state/>.
	JingleNSFocus = "http://jitsi.org/protocol/focus"
	// JingleNSStartMuted holds <startmuted audio video/>.
	JingleNSStartMuted = "http://jitsi.org/jitmeet/start-muted"
	// JingleNSColibri is the (colibri v1) namespace of <web-socket url/>,
	// which bridges still put inside ICE transports.
	JingleNSColibri = "http://jitsi.org/protocol/colibri"
)

// JingleAction is the action attribute of a <jingle/> element.
type JingleAction string

// Jingle actions. The focus sends session-initiate, transport-replace,
// transport-info, source-add, source-remove and session-terminate; clients send
// the rest. addsource and removesource are the legacy spellings of source-add
// and source-remove, still accepted on input.
const (
	JingleSessionInitiate  JingleAction = "session-initiate"
	JingleSessionAccept    JingleAction = "session-accept"
	JingleSessionTerminate JingleAction = "session-terminate"
	JingleSessionInfo      JingleAction = "session-info"
	JingleTransportInfo    JingleAction = "transport-info"
	JingleTransportAccept  JingleAction = "transport-accept"
	JingleTransportReplace JingleAction = "transport-replace"
	JingleTransportReject  JingleAction = "transport-reject"
	JingleSourceAdd        JingleAction = "source-add"
	JingleSourceRemove     JingleAction = "source-remove"
	JingleAddSource        JingleAction = "addsource"
	JingleRemoveSource     JingleAction = "removesource"
	JingleContentAccept    JingleAction = "content-accept"
	JingleContentAdd       JingleAction = "content-add"
	JingleContentModify    JingleAction = "content-modify"
	JingleContentReject    JingleAction = "content-reject"
	JingleContentRemove    JingleAction = "content-remove"
	JingleDescriptionInfo  JingleAction = "description-info"
	JingleSecurityInfo     JingleAction = "security-info"
)

// Canonical maps the legacy addsource/removesource spellings onto
// source-add/source-remove and returns every other action unchanged.
func (a JingleAction) Canonical() JingleAction {
	switch a {
	case JingleAddSource:
		return JingleSourceAdd
	case JingleRemoveSource:
		return JingleSourceRemove
	}
	return a
}

// Jingle reason conditions (XEP-0166 §7.4), the local name of the first child
// of <reason/>.
const (
	JingleReasonAlternativeSession      = "alternative-session"
	JingleReasonBusy                    = "busy"
	JingleReasonCancel                  = "cancel"
	JingleReasonConnectivityError       = "connectivity-error"
	JingleReasonDecline                 = "decline"
	JingleReasonExpired                 = "expired"
	JingleReasonFailedApplication       = "failed-application"
	JingleReasonFailedTransport         = "failed-transport"
	JingleReasonGeneralError            = "general-error"
	JingleReasonGone                    = "gone"
	JingleReasonIncompatibleParameters  = "incompatible-parameters"
	JingleReasonMediaError              = "media-error"
	JingleReasonSecurityError           = "security-error"
	JingleReasonSuccess                 = "success"
	JingleReasonTimeout                 = "timeout"
	JingleReasonUnsupportedApplications = "unsupported-applications"
	JingleReasonUnsupportedTransports   = "unsupported-transports"
)

// Values of the creator and senders attributes of <content/>.
const (
	JingleCreatorInitiator = "initiator"
	JingleCreatorResponder = "responder"

	JingleSendersBoth      = "both"
	JingleSendersInitiator = "initiator"
	JingleSendersResponder = "responder"
	JingleSendersNone      = "none"
	JingleSendersRejected  = "rejected"
)

// Content names Jitsi uses: one content per media type, bundled.
const (
	JingleContentAudio = "audio"
	JingleContentVideo = "video"
	JingleContentData  = "data"
)

// Jingle is the <jingle xmlns='urn:xmpp:jingle:1'/> payload of an IQ.
type Jingle struct {
	XMLName   xml.Name     `xml:"urn:xmpp:jingle:1 jingle"`
	Action    JingleAction `xml:"action,attr"`
	SID       string       `xml:"sid,attr"`
	Initiator string       `xml:"initiator,attr,omitempty"`
	Responder string       `xml:"responder,attr,omitempty"`

	Contents []JingleContent `xml:"content"`
	// Groups normally holds one BUNDLE group over every content.
	Groups        []JingleGroup        `xml:"urn:xmpp:jingle:apps:grouping:0 group"`
	BridgeSession *JingleBridgeSession `xml:"http://jitsi.org/protocol/focus bridge-session"`
	ICEState      *JingleICEState      `xml:"http://jitsi.org/protocol/focus ice-state"`
	StartMuted    *JingleStartMuted    `xml:"http://jitsi.org/jitmeet/start-muted startmuted"`
	JSONMessage   *JingleJSONMessage   `xml:"http://jitsi.org/jitmeet json-message"`
	Reason        *JingleReason        `xml:"reason"`
	// Extra keeps children nobody here interprets (trace parents, mute
	// session-info, rid groups of other clients…), so they survive a relay.
	Extra []JingleRawElement `xml:",any"`
}

// Content returns the content with the given name, or nil.
func (j *Jingle) Content(name string) *JingleContent {
	if j == nil {
		return nil
	}
	for i := range j.Contents {
		if j.Contents[i].Name == name {
			return &j.Contents[i]
		}
	}
	return nil
}

// SetBundleGroup replaces the groups with a single BUNDLE group naming every
// content, as Jicofo puts on each offer.
func (j *Jingle) SetBundleGroup() {
	g := JingleGroup{Semantics: JingleGroupBundle}
	for _, c := range j.Contents {
		g.Contents = append(g.Contents, JingleGroupContent{Name: c.Name})
	}
	j.Groups = []JingleGroup{g}
}

// ICETransport returns the first ICE-UDP transport of the contents (with
// BUNDLE all contents share one), or nil.
func (j *Jingle) ICETransport() *JingleICETransport {
	if j == nil {
		return nil
	}
	for i := range j.Contents {
		if t := j.Contents[i].Transport; t != nil {
			return t
		}
	}
	return nil
}

// InitialLastN returns the value of the <initial-last-n xmlns='jitsi:colibri2'/>
// a client puts in its video content, and whether one was present.
func (j *Jingle) InitialLastN() (int, bool) {
	if j == nil {
		return 0, false
	}
	for _, c := range j.Contents {
		if c.InitialLastN != nil {
			return c.InitialLastN.Value, true
		}
	}
	return 0, false
}

// JingleContent is one <content/> of a Jingle session: a media description
// and a transport.
type JingleContent struct {
	Creator     string `xml:"creator,attr,omitempty"`
	Disposition string `xml:"disposition,attr,omitempty"`
	Name        string `xml:"name,attr"`
	Senders     string `xml:"senders,attr,omitempty"`

	// InitialLastN is sent by clients in the video content of session-accept.
	InitialLastN *Colibri2InitialLastN `xml:"jitsi:colibri2 initial-last-n"`
	Description  *JingleRTPDescription `xml:"urn:xmpp:jingle:apps:rtp:1 description"`
	Transport    *JingleICETransport   `xml:"urn:xmpp:jingle:transports:ice-udp:1 transport"`
	// Sources directly under <content/> are not what Jitsi clients send, but
	// Jicofo accepts them there too.
	Sources []JingleSource     `xml:"urn:xmpp:jingle:apps:rtp:ssma:0 source"`
	Extra   []JingleRawElement `xml:",any"`
}

// Media returns the media type of c, lower-cased: its description's media
// or, without one, the content name ("audio", "video", "application"…).
func (c *JingleContent) Media() string {
	m := c.Name
	if c.Description != nil && c.Description.Media != "" {
		m = c.Description.Media
	}
	return strings.ToLower(m)
}

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

// JingleSource is <source xmlns='urn:xmpp:jingle:apps:rtp:ssma:0'/>: one SSRC
// with its name, video type, owner and msid. Inside an <ssrc-group/> only the
// SSRC is set. Simulcast by RID (<source rid/>) has no SSRC.
type JingleSource struct {
	SSRC      int64  `xml:"ssrc,attr,omitempty"`
	RID       string `xml:"rid,attr,omitempty"`
	Name      string `xml:"name,attr,omitempty"`
	VideoType string `xml:"videoType,attr,omitempty"`

	SSRCInfo   *JingleSSRCInfo    `xml:"http://jitsi.org/jitmeet ssrc-info"`
	Parameters []JingleParameter  `xml:"parameter"`
	Extra      []JingleRawElement `xml:",any"`
}

// MSID returns the value of the source's msid parameter, or "".
func (s *JingleSource) MSID() string {
	for _, p := range s.Parameters {
		if p.Name == JingleParameterMSID {
			return p.Value
		}
	}
	return ""
}

// JingleParameterMSID is the name of the source parameter carrying the msid.
const JingleParameterMSID = "msid"

// JingleSSRCInfo is <ssrc-info xmlns='http://jitsi.org/jitmeet' owner/>: the
// endpoint (MUC nickname) that sends a source, or "jvb" for the bridge.
type JingleSSRCInfo struct {
	Owner     string `xml:"owner,attr"`
	VideoType string `xml:"video-type,attr,omitempty"`
}

// Semantics of <ssrc-group/>.
const (
	JingleSemanticsSIM = "SIM"
	JingleSemanticsFID = "FID"
)

// JingleSourceGroup is <ssrc-group semantics/>: simulcast layers (SIM) or a
// stream and its retransmissions (FID).
type JingleSourceGroup struct {
	Semantics string         `xml:"semantics,attr"`
	Sources   []JingleSource `xml:"source"`
}

// SSRCs returns the SSRCs of the group in order.
func (g *JingleSourceGroup) SSRCs() []int64 {
	out := make([]int64, 0, len(g.Sources))
	for _, s := range g.Sources {
		out = append(out, s.SSRC)
	}
	return out
}

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

// JingleGroupBundle is the semantics of the BUNDLE group.
const JingleGroupBundle = "BUNDLE"

// JingleGroup is <group xmlns='urn:xmpp:jingle:apps:grouping:0' semantics/>
// (XEP-0338).
type JingleGroup struct {
	Semantics string               `xml:"semantics,attr"`
	Contents  []JingleGroupContent `xml:"content"`
}

// JingleGroupContent names one content of a group.
type JingleGroupContent struct {
	Name string `xml:"name,attr"`
}

// JingleBridgeSession is <bridge-session xmlns='http://jitsi.org/protocol/focus'/>:
// the colibri session on the bridge that provides the transport. The focus
// sends id and region; clients send it back with restart='true' in
// session-terminate or ice-restart='true' in session-info.
type JingleBridgeSession struct {
	ID         string `xml:"id,attr"`
	Region     string `xml:"region,attr,omitempty"`
	Restart    bool   `xml:"restart,attr,omitempty"`
	ICERestart bool   `xml:"ice-restart,attr,omitempty"`
}

// JingleICEState is <ice-state xmlns='http://jitsi.org/protocol/focus'>failed</ice-state>
// in a session-info.
type JingleICEState struct {
	State string `xml:",chardata"`
}

// JingleICEStateFailed is the state a client reports when ICE failed.
const JingleICEStateFailed = "failed"

// JingleStartMuted is <startmuted xmlns='http://jitsi.org/jitmeet/start-muted'
// audio video/>. Both attributes are always written.
type JingleStartMuted struct {
	Audio bool `xml:"audio,attr"`
	Video bool `xml:"video,attr"`
}

// JingleJSONMessage is <json-message xmlns='http://jitsi.org/jitmeet'>…</json-message>.
// Jicofo uses it to send sources compactly (see focal/media/sources.EncodeJSON).
type JingleJSONMessage struct {
	Text string `xml:",chardata"`
}

// JingleReason is <reason><condition/><text>…</text></reason>.
type JingleReason struct {
	Condition string // local name of the condition element, e.g. "success"
	Text      string
	Extra     []JingleRawElement // application-specific children
}

// MarshalXML writes the condition as an empty element in the Jingle namespace.
func (r JingleReason) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	start.Attr = nil
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	if r.Condition != "" {
		cond := xml.StartElement{Name: xml.Name{Local: r.Condition}}
		if err := e.EncodeToken(cond); err != nil {
			return err
		}
		if err := e.EncodeToken(cond.End()); err != nil {
			return err
		}
	}
	if r.Text != "" {
		if err := e.EncodeElement(r.Text, xml.StartElement{Name: xml.Name{Local: "text"}}); err != nil {
			return err
		}
	}
	for _, x := range r.Extra {
		if err := e.Encode(x); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

// UnmarshalXML reads the condition (the first child other than <text/> in
// the Jingle namespace, or in no namespace), the text and any other children.
func (r *JingleReason) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	*r = JingleReason{}
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			inJingle := t.Name.Space == JingleNS || t.Name.Space == start.Name.Space || t.Name.Space == ""
			switch {
			case inJingle && t.Name.Local == "text":
				var s string
				if err := d.DecodeElement(&s, &t); err != nil {
					return err
				}
				r.Text = s
			case inJingle && r.Condition == "":
				r.Condition = t.Name.Local
				if err := d.Skip(); err != nil {
					return err
				}
			default:
				var x JingleRawElement
				if err := d.DecodeElement(&x, &t); err != nil {
					return err
				}
				r.Extra = append(r.Extra, x)
			}
		case xml.EndElement:
			return nil
		}
	}
}

// JingleRawElement is any XML element kept as a tree: the catch-all for
// children that the typed structs of this package do not interpret.
// Namespace declarations are not kept as attributes; the element's own
// namespace is in XMLName and is written back on output.
type JingleRawElement struct {
	XMLName  xml.Name
	Attrs    []xml.Attr         `xml:",any,attr"`
	Text     string             `xml:",chardata"`
	Children []JingleRawElement `xml:",any"`
}

// UnmarshalXML decodes the subtree, dropping xmlns declarations and
// whitespace-only text.
func (x *JingleRawElement) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	type plain JingleRawElement
	var p plain
	if err := d.DecodeElement(&p, &start); err != nil {
		return err
	}
	attrs := p.Attrs[:0]
	for _, a := range p.Attrs {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
			continue
		}
		attrs = append(attrs, a)
	}
	p.Attrs = attrs
	if len(p.Attrs) == 0 {
		p.Attrs = nil
	}
	if strings.TrimSpace(p.Text) == "" {
		p.Text = ""
	}
	*x = JingleRawElement(p)
	return nil
}

// Attr returns the value of the un-prefixed attribute name, or "".
func (x *JingleRawElement) Attr(name string) string {
	for _, a := range x.Attrs {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// Clone returns a deep copy of x.
func (x JingleRawElement) Clone() JingleRawElement {
	c := x
	c.Attrs = append([]xml.Attr(nil), x.Attrs...)
	c.Children = nil
	for _, ch := range x.Children {
		c.Children = append(c.Children, ch.Clone())
	}
	return c
}
