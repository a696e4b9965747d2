package xmpp

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
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

// UseBridgeTransport puts a copy of the bridge's transport t into every
// content, adds the <sctpmap/> for sctpPort to the data content and rtcp-mux to
// every RTP description, the way Jicofo completes an offer after allocating
// the participant on a bridge.
func (j *Jingle) UseBridgeTransport(t *JingleICETransport, sctpPort int) {
	for i := range j.Contents {
		c := &j.Contents[i]
		if t != nil {
			c.Transport = t.Clone()
			if c.Name == JingleContentData {
				c.Transport.SCTPMap = &JingleSCTPMap{
					Number:   sctpPort,
					Protocol: JingleSCTPProtocolDataChannel,
					Streams:  JingleSCTPDefaultStreams,
				}
			}
		}
		if c.Description != nil && c.Description.RTCPMux == nil {
			c.Description.RTCPMux = &JingleEmpty{}
		}
	}
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

// SCTP map defaults of Jicofo's offer.
const (
	JingleSCTPProtocolDataChannel = "webrtc-datachannel"
	JingleSCTPDefaultStreams      = 1024
)

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
// Jicofo uses it to send sources compactly (see JingleEncodeJSONSources).
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

// ErrJingleNoJSONSources is returned by JingleDecodeJSONSources for a JSON
// message that is not about sources.
var ErrJingleNoJSONSources = errors.New("jingle: json-message carries no sources")

// JingleEncodeJSONSources encodes the sources of each owner in Jicofo's
// compact form, the text of a <json-message/>:
//
//	{"sources":{"<owner>":[[videoSources],[videoGroups],[audioSources],[audioGroups]]}}
//
// A source is {"s":ssrc,"n":name,"m":msid} plus "v":"d" for desktop video; a
// group is ["s"|"f",ssrc…]. The audio-group list is left out when empty, as
// Jicofo does. Owners are written in sorted order. Groups with semantics
// other than SIM and FID cannot be expressed and are left out.
func JingleEncodeJSONSources(sources map[string]SourceSet) string {
	owners := make([]string, 0, len(sources))
	for o := range sources {
		owners = append(owners, o)
	}
	sort.Strings(owners)
	var b bytes.Buffer
	b.WriteString(`{"sources":{`)
	for i, owner := range owners {
		if i > 0 {
			b.WriteByte(',')
		}
		jingleJSONString(&b, owner)
		b.WriteString(":[")
		set := sources[owner]
		jingleJSONSourceList(&b, set, SourceVideo)
		b.WriteByte(',')
		jingleJSONGroupList(&b, set, SourceVideo)
		b.WriteByte(',')
		jingleJSONSourceList(&b, set, SourceAudio)
		if slices.ContainsFunc(set.Groups, func(g SourceGroup) bool { return g.Media == SourceAudio && jingleJSONSemantics(g.Semantics) != "" }) {
			b.WriteByte(',')
			jingleJSONGroupList(&b, set, SourceAudio)
		}
		b.WriteByte(']')
	}
	b.WriteString("}}")
	return b.String()
}

// NewJingleJSONSources returns the <json-message/> carrying sources.
func NewJingleJSONSources(sources map[string]SourceSet) *JingleJSONMessage {
	return &JingleJSONMessage{Text: JingleEncodeJSONSources(sources)}
}

func jingleJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)       // encoding a string cannot fail
	b.Truncate(b.Len() - 1) // the encoder's newline
}

func jingleJSONSemantics(sem string) string {
	switch sem {
	case JingleSemanticsSIM:
		return "s"
	case JingleSemanticsFID:
		return "f"
	}
	return ""
}

func jingleJSONSourceList(b *bytes.Buffer, set SourceSet, media SourceMedia) {
	b.WriteByte('[')
	n := 0
	for _, src := range set.Sources {
		if src.Media != media {
			continue
		}
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		b.WriteString(`{"s":`)
		b.WriteString(strconv.FormatInt(src.SSRC, 10))
		if src.Name != "" {
			b.WriteString(`,"n":`)
			jingleJSONString(b, src.Name)
		}
		if src.MSID != "" {
			b.WriteString(`,"m":`)
			jingleJSONString(b, src.MSID)
		}
		if src.VideoType == SourceVideoDesktop {
			b.WriteString(`,"v":"d"`)
		}
		b.WriteByte('}')
	}
	b.WriteByte(']')
}

func jingleJSONGroupList(b *bytes.Buffer, set SourceSet, media SourceMedia) {
	b.WriteByte('[')
	n := 0
	for _, g := range set.Groups {
		sem := jingleJSONSemantics(g.Semantics)
		if g.Media != media || sem == "" {
			continue
		}
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		b.WriteString(`["` + sem + `"`)
		for _, s := range g.SSRCs {
			b.WriteByte(',')
			b.WriteString(strconv.FormatInt(s, 10))
		}
		b.WriteByte(']')
	}
	b.WriteByte(']')
}

// JingleDecodeJSONSources decodes the compact sources of a <json-message/>
// (see JingleEncodeJSONSources). Missing trailing lists are empty. An SSRC may
// be a JSON number or a string of digits. A video type is set (to desktop)
// only when "v" is present and truthy, as clients read it. Ranges are not
// checked here; SourceValidator does that.
func JingleDecodeJSONSources(text string) (map[string]SourceSet, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(text), &top); err != nil {
		return nil, fmt.Errorf("jingle: json-message: %w", err)
	}
	raw, ok := top["sources"]
	if !ok || string(raw) == "null" {
		return nil, ErrJingleNoJSONSources
	}
	var owners map[string][]json.RawMessage
	if err := json.Unmarshal(raw, &owners); err != nil {
		return nil, fmt.Errorf("jingle: json-message sources: %w", err)
	}
	out := make(map[string]SourceSet, len(owners))
	for owner, lists := range owners {
		var set SourceSet
		for i, list := range lists {
			var err error
			switch i {
			case 0:
				set.Sources, err = jingleJSONDecodeSources(list, SourceVideo, set.Sources)
			case 1:
				set.Groups, err = jingleJSONDecodeGroups(list, SourceVideo, set.Groups)
			case 2:
				set.Sources, err = jingleJSONDecodeSources(list, SourceAudio, set.Sources)
			case 3:
				set.Groups, err = jingleJSONDecodeGroups(list, SourceAudio, set.Groups)
			}
			if err != nil {
				return nil, fmt.Errorf("jingle: json-message sources of %q: %w", owner, err)
			}
		}
		out[owner] = set
	}
	return out, nil
}

type jingleJSONSource struct {
	S json.RawMessage `json:"s"`
	N string          `json:"n"`
	M string          `json:"m"`
	V json.RawMessage `json:"v"`
}

func jingleJSONDecodeSources(raw json.RawMessage, media SourceMedia, into []Source) ([]Source, error) {
	var list []jingleJSONSource
	if err := json.Unmarshal(raw, &list); err != nil {
		return into, err
	}
	for _, js := range list {
		ssrc, err := jingleJSONSSRC(js.S)
		if err != nil {
			return into, err
		}
		src := Source{SSRC: ssrc, Media: media, Name: js.N, MSID: js.M}
		if jingleJSONTruthy(js.V) {
			src.VideoType = SourceVideoDesktop
		}
		into = append(into, src)
	}
	return into, nil
}

func jingleJSONDecodeGroups(raw json.RawMessage, media SourceMedia, into []SourceGroup) ([]SourceGroup, error) {
	var list [][]json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return into, err
	}
	for _, items := range list {
		if len(items) == 0 {
			return into, errors.New("empty ssrc group")
		}
		var sem string
		if err := json.Unmarshal(items[0], &sem); err != nil {
			return into, fmt.Errorf("ssrc group semantics: %w", err)
		}
		g := SourceGroup{Media: media, SSRCs: []int64{}}
		switch sem {
		case "s":
			g.Semantics = JingleSemanticsSIM
		case "f":
			g.Semantics = JingleSemanticsFID
		default:
			return into, fmt.Errorf("unknown ssrc group semantics %q", sem)
		}
		for _, it := range items[1:] {
			ssrc, err := jingleJSONSSRC(it)
			if err != nil {
				return into, err
			}
			g.SSRCs = append(g.SSRCs, ssrc)
		}
		into = append(into, g)
	}
	return into, nil
}

func jingleJSONSSRC(raw json.RawMessage) (int64, error) {
	var v any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return 0, fmt.Errorf("ssrc: %w", err)
	}
	var s string
	switch t := v.(type) {
	case json.Number:
		s = t.String()
	case string:
		s = t
	default:
		return 0, fmt.Errorf("ssrc: not a number: %s", raw)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("ssrc: %w", err)
	}
	return n, nil
}

func jingleJSONTruthy(raw json.RawMessage) bool {
	switch strings.TrimSpace(string(raw)) {
	case "", "null", "false", `""`, "0":
		return false
	}
	return true
}

// RTP header extension URIs of Jicofo's offer.
const (
	JingleExtAudioLevel            = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
	JingleExtTOffset               = "urn:ietf:params:rtp-hdrext:toffset"
	JingleExtAbsSendTime           = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
	JingleExtRID                   = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
	JingleExtTransportCC           = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
	JingleExtVideoContentType      = "http://www.webrtc.org/experiments/rtp-hdrext/video-content-type"
	JingleExtFramemarking          = "http://tools.ietf.org/html/draft-ietf-avtext-framemarking-07"
	JingleExtMID                   = "urn:ietf:params:rtp-hdrext:sdes:mid"
	JingleExtDependencyDescriptor  = "https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension"
	JingleExtVideoLayersAllocation = "http://www.webrtc.org/experiments/rtp-hdrext/video-layers-allocation00"
)

// JingleH264ProfileLevelID is the value Jicofo gives H.264's profile-level-id
// fmtp parameter. It carries the other parameters too, as Jicofo sends it.
const JingleH264ProfileLevelID = "42e01f;level-asymmetry-allowed=1;packetization-mode=1;"

// JingleVideoCodec configures one video codec of the offer.
type JingleVideoCodec struct {
	Enabled bool
	PT      int
	RTXPT   int  // payload type of its RTX stream; negative disables RTX
	REMB    bool // offer goog-remb (only to clients that want REMB)
}

// JingleHdrExt configures one RTP header extension of the offer.
type JingleHdrExt struct {
	Enabled bool
	ID      int
}

// JingleAudioCodec configures an audio payload type of the offer.
type JingleAudioCodec struct {
	Enabled bool
	PT      int
}

// JingleOpusCodec configures opus and its RED encapsulation.
type JingleOpusCodec struct {
	Enabled      bool
	PT           int
	MinPTime     int
	UseInbandFEC bool // not offered while RED is enabled
	RED          JingleAudioCodec
}

// JingleCodecConfig is the codecs and header extensions the focus offers
// (Jicofo's jicofo.codec section).
type JingleCodecConfig struct {
	AV1, VP8, H264, VP9 JingleVideoCodec
	Opus                JingleOpusCodec
	TelephoneEvent      JingleAudioCodec

	AudioLevel, AV1DependencyDescriptor, VideoLayersAllocation, TOF, AbsSendTime,
	RID, TCC, VideoContentType, Framemarking, MID JingleHdrExt

	ExtmapAllowMixed bool
}

// JingleDefaultCodecConfig returns Jicofo's defaults: AV1 41 (RTX 42), VP8
// 100 (96), H264 107 (99), VP9 101 (97), opus 111 with minptime 10 and
// in-band FEC, RED 112 off, telephone-event 126; header extensions
// audio-level 1, abs-send-time 3, transport-cc 5, mid 10, AV1 dependency
// descriptor 11 on and toffset 2, rid 4, video-content-type 7, framemarking
// 9, video-layers-allocation 12 off; extmap-allow-mixed on.
func JingleDefaultCodecConfig() JingleCodecConfig {
	var c JingleCodecConfig
	c.AV1 = JingleVideoCodec{Enabled: true, PT: 41, RTXPT: 42, REMB: true}
	c.VP8 = JingleVideoCodec{Enabled: true, PT: 100, RTXPT: 96, REMB: true}
	c.H264 = JingleVideoCodec{Enabled: true, PT: 107, RTXPT: 99, REMB: true}
	c.VP9 = JingleVideoCodec{Enabled: true, PT: 101, RTXPT: 97, REMB: true}
	c.Opus = JingleOpusCodec{Enabled: true, PT: 111, MinPTime: 10, UseInbandFEC: true,
		RED: JingleAudioCodec{Enabled: false, PT: 112}}
	c.TelephoneEvent = JingleAudioCodec{Enabled: true, PT: 126}
	c.AudioLevel = JingleHdrExt{true, 1}
	c.TOF = JingleHdrExt{false, 2}
	c.AbsSendTime = JingleHdrExt{true, 3}
	c.RID = JingleHdrExt{false, 4}
	c.TCC = JingleHdrExt{true, 5}
	c.VideoContentType = JingleHdrExt{false, 7}
	c.Framemarking = JingleHdrExt{false, 9}
	c.MID = JingleHdrExt{true, 10}
	c.AV1DependencyDescriptor = JingleHdrExt{true, 11}
	c.VideoLayersAllocation = JingleHdrExt{false, 12}
	c.ExtmapAllowMixed = true
	return c
}

// JingleOfferOptions say what to offer one participant, from its features
// (disco#info) and the conference's state.
type JingleOfferOptions struct {
	Audio   bool // the client supports audio
	Video   bool // the client supports video
	SCTP    bool // offer a data channel (client support and SCTP enabled)
	TCC     bool // transport-cc
	REMB    bool // goog-remb (Jicofo offers it only to clients without TCC)
	RTX     bool
	OpusRED bool

	// StartAudioMuted and StartVideoMuted add <startmuted/> to the offer.
	StartAudioMuted bool
	StartVideoMuted bool

	// Codecs overrides JingleDefaultCodecConfig.
	Codecs *JingleCodecConfig
}

// JingleDefaultOfferOptions is what Jicofo offers a client whose features are
// unknown: audio, video, SCTP, TCC, RTX and opus RED; no REMB.
func JingleDefaultOfferOptions() JingleOfferOptions {
	return JingleOfferOptions{Audio: true, Video: true, SCTP: true, TCC: true, RTX: true, OpusRED: true}
}

// JingleOfferContents builds the contents of an offer: "audio", "video" and
// "data" (each only if offered), created by the initiator with senders both,
// without transports (see Jingle.UseBridgeTransport) or sources.
func JingleOfferContents(o JingleOfferOptions) []JingleContent {
	cfg := JingleDefaultCodecConfig()
	if o.Codecs != nil {
		cfg = *o.Codecs
	}
	content := func(name string, d *JingleRTPDescription) JingleContent {
		return JingleContent{Creator: JingleCreatorInitiator, Name: name, Senders: JingleSendersBoth, Description: d}
	}
	var out []JingleContent
	if o.Audio {
		out = append(out, content(JingleContentAudio, jingleAudioDescription(cfg, o)))
	}
	if o.Video {
		out = append(out, content(JingleContentVideo, jingleVideoDescription(cfg, o)))
	}
	if o.SCTP {
		out = append(out, content(JingleContentData, &JingleRTPDescription{Media: "application"}))
	}
	return out
}

// NewJingleOffer returns a session-initiate from initiator with the offer
// contents for o, a BUNDLE group and, if asked, <startmuted/>. The caller
// adds the bridge transport, the bridge session and the sources.
func NewJingleOffer(sid, initiator string, o JingleOfferOptions) *Jingle {
	j := &Jingle{Action: JingleSessionInitiate, SID: sid, Initiator: initiator, Contents: JingleOfferContents(o)}
	j.SetBundleGroup()
	if o.StartAudioMuted || o.StartVideoMuted {
		j.StartMuted = &JingleStartMuted{Audio: o.StartAudioMuted, Video: o.StartVideoMuted}
	}
	return j
}

func jingleExt(h JingleHdrExt, uri string) []JingleRTPHdrExt {
	if !h.Enabled {
		return nil
	}
	return []JingleRTPHdrExt{{ID: h.ID, URI: uri}}
}

func jingleAudioDescription(cfg JingleCodecConfig, o JingleOfferOptions) *JingleRTPDescription {
	d := &JingleRTPDescription{Media: "audio", MaxPTime: 60}
	d.HeaderExtensions = append(d.HeaderExtensions, jingleExt(cfg.AudioLevel, JingleExtAudioLevel)...)
	d.HeaderExtensions = append(d.HeaderExtensions, jingleExt(cfg.MID, JingleExtMID)...)
	if o.TCC {
		d.HeaderExtensions = append(d.HeaderExtensions, jingleExt(cfg.TCC, JingleExtTransportCC)...)
	}
	if cfg.Opus.Enabled {
		if cfg.Opus.RED.Enabled && o.OpusRED {
			// RED goes first, so that it is the codec chosen; its fmtp names opus
			// as both primary and redundant encoding.
			pt := strconv.Itoa(cfg.Opus.PT)
			d.PayloadTypes = append(d.PayloadTypes, JinglePayloadType{
				ID: cfg.Opus.RED.PT, Name: "red", ClockRate: 48000, Channels: 2,
				Parameters: []JingleParameter{{Value: pt + "/" + pt}},
			})
		}
		opus := JinglePayloadType{ID: cfg.Opus.PT, Name: "opus", ClockRate: 48000, Channels: 2}
		opus.Parameters = append(opus.Parameters, JingleParameter{Name: "minptime", Value: strconv.Itoa(cfg.Opus.MinPTime)})
		if cfg.Opus.UseInbandFEC && !cfg.Opus.RED.Enabled {
			opus.Parameters = append(opus.Parameters, JingleParameter{Name: "useinbandfec", Value: "1"})
		}
		if cfg.TCC.Enabled && o.TCC {
			opus.RTCPFeedback = append(opus.RTCPFeedback, JingleRTCPFeedback{Type: "transport-cc"})
		}
		d.PayloadTypes = append(d.PayloadTypes, opus)
	}
	if cfg.TelephoneEvent.Enabled {
		d.PayloadTypes = append(d.PayloadTypes, JinglePayloadType{ID: cfg.TelephoneEvent.PT, Name: "telephone-event", ClockRate: 8000})
	}
	if cfg.ExtmapAllowMixed {
		d.ExtmapAllowMixed = &JingleEmpty{}
	}
	return d
}

func jingleVideoDescription(cfg JingleCodecConfig, o JingleOfferOptions) *JingleRTPDescription {
	d := &JingleRTPDescription{Media: "video"}
	video := func(c JingleVideoCodec, name string) {
		if !c.Enabled {
			return
		}
		pt := JinglePayloadType{ID: c.PT, Name: name, ClockRate: 90000}
		pt.RTCPFeedback = []JingleRTCPFeedback{{Type: "ccm", Subtype: "fir"}, {Type: "nack"}, {Type: "nack", Subtype: "pli"}}
		if c.REMB && o.REMB {
			pt.RTCPFeedback = append(pt.RTCPFeedback, JingleRTCPFeedback{Type: "goog-remb"})
		}
		if cfg.TCC.Enabled && o.TCC {
			pt.RTCPFeedback = append(pt.RTCPFeedback, JingleRTCPFeedback{Type: "transport-cc"})
		}
		if name == "H264" {
			pt.Parameters = []JingleParameter{{Name: "profile-level-id", Value: JingleH264ProfileLevelID}}
		}
		d.PayloadTypes = append(d.PayloadTypes, pt)
	}
	video(cfg.AV1, "AV1")
	video(cfg.VP8, "VP8")
	video(cfg.H264, "H264")
	video(cfg.VP9, "VP9")
	rtx := func(c JingleVideoCodec, feedback bool) {
		if !o.RTX || !c.Enabled || c.RTXPT < 0 {
			return
		}
		pt := JinglePayloadType{ID: c.RTXPT, Name: "rtx", ClockRate: 90000,
			Parameters: []JingleParameter{{Name: "apt", Value: strconv.Itoa(c.PT)}}}
		if feedback {
			pt.RTCPFeedback = []JingleRTCPFeedback{{Type: "ccm", Subtype: "fir"}, {Type: "nack"}, {Type: "nack", Subtype: "pli"}}
		}
		d.PayloadTypes = append(d.PayloadTypes, pt)
	}
	rtx(cfg.AV1, true)
	rtx(cfg.VP8, true)
	rtx(cfg.VP9, true)
	rtx(cfg.H264, false)

	for _, e := range []struct {
		h   JingleHdrExt
		uri string
	}{
		{cfg.VideoLayersAllocation, JingleExtVideoLayersAllocation},
		{cfg.AV1DependencyDescriptor, JingleExtDependencyDescriptor},
		{cfg.TOF, JingleExtTOffset},
		{cfg.MID, JingleExtMID},
		{cfg.AbsSendTime, JingleExtAbsSendTime},
		{cfg.Framemarking, JingleExtFramemarking},
		{cfg.VideoContentType, JingleExtVideoContentType},
		{cfg.RID, JingleExtRID},
	} {
		d.HeaderExtensions = append(d.HeaderExtensions, jingleExt(e.h, e.uri)...)
	}
	if o.TCC {
		d.HeaderExtensions = append(d.HeaderExtensions, jingleExt(cfg.TCC, JingleExtTransportCC)...)
	}
	if cfg.ExtmapAllowMixed {
		d.ExtmapAllowMixed = &JingleEmpty{}
	}
	return d
}
