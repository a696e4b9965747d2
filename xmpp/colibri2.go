package xmpp

import (
	"encoding/xml"
	"strings"
)

// Namespaces of the bridge control protocol.
const (
	// Colibri2NS is the namespace of conference-modify, conference-modified,
	// their children, and the colibri2 <error reason/> extension.
	Colibri2NS = "jitsi:colibri2"
	// Colibri2NSHealthcheck is the namespace of the bridge health check IQ.
	Colibri2NSHealthcheck = "http://jitsi.org/protocol/healthcheck"
)

// Capabilities the focus declares for an endpoint.
const (
	Colibri2CapSourceNames      = "source-names"
	Colibri2CapSSRCRewriting    = "ssrc-rewriting"
	Colibri2CapPrivateAddresses = "private-address-connectivity"
	Colibri2CapRTPMidDemux      = "rtp-mid-demux"
)

// Attribute values of endpoints, relays and connects.
const (
	Colibri2MUCRoleVisitor = "visitor" // muc-role of a visitor's endpoint
	Colibri2SCTPRoleClient = "client"
	Colibri2SCTPRoleServer = "server"
	Colibri2DefaultMeshID  = "0" // mesh-id of relays in a single mesh

	Colibri2ConnectTranscriber = "transcriber"
	Colibri2ConnectTranslator  = "translator"
	Colibri2ConnectRecorder    = "recorder"
	Colibri2ConnectMediaJSON   = "mediajson" // the only connect protocol
)

// Colibri2ConferenceModify is <conference-modify xmlns='jitsi:colibri2'/>,
// the payload of the IQ (type get) the focus sends a bridge to create,
// change or expire a conference and its endpoints and relays.
type Colibri2ConferenceModify struct {
	XMLName   xml.Name `xml:"jitsi:colibri2 conference-modify"`
	MeetingID string   `xml:"meeting-id,attr"`
	// Name is the room JID; sent with Create.
	Name   string `xml:"name,attr,omitempty"`
	Create bool   `xml:"create,attr,omitempty"`
	Expire bool   `xml:"expire,attr,omitempty"`
	// RTCStatsEnabled defaults to true on the bridge; Jicofo only ever sends
	// false.
	RTCStatsEnabled *bool `xml:"rtcstats-enabled,attr,omitempty"`

	Endpoints []Colibri2Endpoint `xml:"endpoint"`
	Relays    []Colibri2Relay    `xml:"relay"`
	Connects  *Colibri2Connects  `xml:"connects"`
	Extra     []JingleRawElement `xml:",any"`
}

// Endpoint returns the endpoint with the given id, or nil.
func (m *Colibri2ConferenceModify) Endpoint(id string) *Colibri2Endpoint {
	return colibri2FindEndpoint(m.Endpoints, id)
}

// Colibri2ConferenceModified is <conference-modified xmlns='jitsi:colibri2'/>,
// the bridge's answer: the transports of created endpoints and relays and,
// when the conference was created, the bridge's own ("feedback") sources.
type Colibri2ConferenceModified struct {
	XMLName   xml.Name           `xml:"jitsi:colibri2 conference-modified"`
	Endpoints []Colibri2Endpoint `xml:"endpoint"`
	Relays    []Colibri2Relay    `xml:"relay"`
	Sources   *Colibri2Sources   `xml:"sources"`
	Extra     []JingleRawElement `xml:",any"`
}

// Endpoint returns the endpoint with the given id, or nil.
func (m *Colibri2ConferenceModified) Endpoint(id string) *Colibri2Endpoint {
	return colibri2FindEndpoint(m.Endpoints, id)
}

// Relay returns the relay with the given id, or nil.
func (m *Colibri2ConferenceModified) Relay(id string) *Colibri2Relay {
	for i := range m.Relays {
		if m.Relays[i].ID == id {
			return &m.Relays[i]
		}
	}
	return nil
}

func colibri2FindEndpoint(eps []Colibri2Endpoint, id string) *Colibri2Endpoint {
	for i := range eps {
		if eps[i].ID == id {
			return &eps[i]
		}
	}
	return nil
}

// Colibri2Endpoint is <endpoint id/>: a participant's media on the bridge.
// The id is the participant's MUC nickname.
type Colibri2Endpoint struct {
	ID      string `xml:"id,attr"`
	Create  bool   `xml:"create,attr,omitempty"`
	Expire  bool   `xml:"expire,attr,omitempty"`
	StatsID string `xml:"stats-id,attr,omitempty"`
	MUCRole string `xml:"muc-role,attr,omitempty"`
	Diarize bool   `xml:"diarize,attr,omitempty"`

	Media        []Colibri2Media       `xml:"media"`
	Transport    *Colibri2Transport    `xml:"jitsi:colibri2 transport"`
	Sources      *Colibri2Sources      `xml:"sources"`
	ForceMute    *Colibri2ForceMute    `xml:"force-mute"`
	Capabilities []Colibri2Capability  `xml:"capability"`
	InitialLastN *Colibri2InitialLastN `xml:"initial-last-n"`
	Extra        []JingleRawElement    `xml:",any"`
}

// HasCapability reports whether the endpoint declares the named capability.
func (e *Colibri2Endpoint) HasCapability(name string) bool {
	for _, c := range e.Capabilities {
		if c.Name == name {
			return true
		}
	}
	return false
}

// Colibri2Relay is <relay id/>: the link to another bridge of the
// conference ("Octo" cascading). The id is the remote bridge's relay id.
type Colibri2Relay struct {
	ID     string `xml:"id,attr"`
	Create bool   `xml:"create,attr,omitempty"`
	Expire bool   `xml:"expire,attr,omitempty"`
	MeshID string `xml:"mesh-id,attr,omitempty"`

	Media     []Colibri2Media    `xml:"media"`
	Transport *Colibri2Transport `xml:"jitsi:colibri2 transport"`
	Sources   *Colibri2Sources   `xml:"sources"`
	// Endpoints are the remote bridge's endpoints, with their sources.
	Endpoints []Colibri2Endpoint `xml:"endpoints>endpoint"`
	Extra     []JingleRawElement `xml:",any"`
}

// Colibri2Media is <media type/>: the codecs and header extensions the
// endpoint's offer used for one media type.
type Colibri2Media struct {
	Type             string              `xml:"type,attr"`
	PayloadTypes     []JinglePayloadType `xml:"urn:xmpp:jingle:apps:rtp:1 payload-type"`
	HeaderExtensions []JingleRTPHdrExt   `xml:"urn:xmpp:jingle:apps:rtp:rtp-hdrext:0 rtp-hdrext"`
	ExtmapAllowMixed *JingleEmpty        `xml:"urn:xmpp:jingle:apps:rtp:rtp-hdrext:0 extmap-allow-mixed"`
	Extra            []JingleRawElement  `xml:",any"`
}

// Colibri2MediaFromJingle returns the colibri2 <media/> describing the RTP
// description of an audio or video content, and false for other contents.
func Colibri2MediaFromJingle(c *JingleContent) (Colibri2Media, bool) {
	if c == nil || c.Description == nil {
		return Colibri2Media{}, false
	}
	m := c.Media()
	if m != JingleMediaAudio && m != JingleMediaVideo {
		return Colibri2Media{}, false
	}
	d := c.Description
	out := Colibri2Media{Type: m}
	for _, pt := range d.PayloadTypes {
		pt.Parameters = append([]JingleParameter(nil), pt.Parameters...)
		pt.RTCPFeedback = append([]JingleRTCPFeedback(nil), pt.RTCPFeedback...)
		pt.Extra = nil
		out.PayloadTypes = append(out.PayloadTypes, pt)
	}
	out.HeaderExtensions = append(out.HeaderExtensions, d.HeaderExtensions...)
	if d.ExtmapAllowMixed != nil {
		out.ExtmapAllowMixed = &JingleEmpty{}
	}
	return out, true
}

// Colibri2Transport is <transport xmlns='jitsi:colibri2'/>, wrapping the
// ICE-UDP transport and SCTP settings. The focus sets ice-controlling for
// endpoints, ice-restart for an in-place ICE restart, and use-unique-port
// for relays.
type Colibri2Transport struct {
	ICEControlling bool `xml:"ice-controlling,attr,omitempty"`
	UseUniquePort  bool `xml:"use-unique-port,attr,omitempty"`
	ICERestart     bool `xml:"ice-restart,attr,omitempty"`

	ICE   *JingleICETransport `xml:"urn:xmpp:jingle:transports:ice-udp:1 transport"`
	SCTP  *Colibri2SCTP       `xml:"sctp"`
	Extra []JingleRawElement  `xml:",any"`
}

// Colibri2SCTP is <sctp port role/>. A request with an empty <sctp/> asks for
// a data channel; the bridge answers with its port (and role).
type Colibri2SCTP struct {
	Port int    `xml:"port,attr,omitempty"`
	Role string `xml:"role,attr,omitempty"`
}

// Colibri2Sources is <sources/>: an endpoint's media sources, or at the
// conference level of a conference-modified, the bridge's own.
type Colibri2Sources struct {
	MediaSources []Colibri2MediaSource `xml:"media-source"`
}

// Colibri2MediaSource is <media-source type id/>: one source (a name) of an
// endpoint with its SSRCs and SSRC groups.
type Colibri2MediaSource struct {
	Type      string `xml:"type,attr"`
	ID        string `xml:"id,attr"`
	Synthetic bool   `xml:"synthetic,attr,omitempty"`

	Sources      []JingleSource      `xml:"urn:xmpp:jingle:apps:rtp:ssma:0 source"`
	SourceGroups []JingleSourceGroup `xml:"urn:xmpp:jingle:apps:rtp:ssma:0 ssrc-group"`
	Extra        []JingleRawElement  `xml:",any"`
}

// Colibri2ForceMute is <force-mute audio video/>: whether the bridge drops the
// endpoint's audio and video. Both attributes are always written, so false
// lifts a force-mute.
type Colibri2ForceMute struct {
	Audio bool `xml:"audio,attr"`
	Video bool `xml:"video,attr"`
}

// Colibri2Capability is <capability name/>.
type Colibri2Capability struct {
	Name string `xml:"name,attr"`
}

// Colibri2InitialLastN is <initial-last-n value/>, in a colibri2 endpoint and
// (in the jitsi:colibri2 namespace) in a client's video content.
type Colibri2InitialLastN struct {
	Value int `xml:"value,attr"`
}

// Colibri2Connects is <connects/>: websocket exports of the conference's
// audio (transcription, translation, recording).
type Colibri2Connects struct {
	Connects []Colibri2Connect `xml:"connect"`
}

// Colibri2Connect is one <connect/>.
type Colibri2Connect struct {
	ID       string `xml:"id,attr,omitempty"`
	Create   bool   `xml:"create,attr,omitempty"`
	Expire   bool   `xml:"expire,attr,omitempty"`
	URL      string `xml:"url,attr,omitempty"`
	Protocol string `xml:"protocol,attr,omitempty"`
	Type     string `xml:"type,attr,omitempty"`
	Audio    bool   `xml:"audio,attr,omitempty"`
	Video    bool   `xml:"video,attr,omitempty"`

	HTTPHeaders []Colibri2HTTPHeader `xml:"http-header"`
	Ping        *Colibri2Ping        `xml:"ping"`
	Exports     []Colibri2Name       `xml:"exports>export"`
	Requests    []Colibri2Name       `xml:"requests>request"`
	Extra       []JingleRawElement   `xml:",any"`
}

// Colibri2HTTPHeader is <http-header name value/>.
type Colibri2HTTPHeader struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// Colibri2Ping is <ping interval timeout/> of a connect.
type Colibri2Ping struct {
	Interval string `xml:"interval,attr,omitempty"`
	Timeout  string `xml:"timeout,attr,omitempty"`
}

// Colibri2Name is an element with just a name attribute (<export/>,
// <request/>).
type Colibri2Name struct {
	Name string `xml:"name,attr"`
}

// Colibri2ErrorReason is the reason attribute of a colibri2 error.
type Colibri2ErrorReason string

// Reasons a bridge gives in <error xmlns='jitsi:colibri2' reason/>.
const (
	Colibri2ConferenceNotFound      Colibri2ErrorReason = "conference_not_found"
	Colibri2ConferenceAlreadyExists Colibri2ErrorReason = "conference_already_exists"
	Colibri2FeatureNotImplemented   Colibri2ErrorReason = "feature_not_implemented"
	Colibri2GracefulShutdown        Colibri2ErrorReason = "graceful_shutdown"
	Colibri2UnknownEndpoint         Colibri2ErrorReason = "unknown_endpoint"
	Colibri2Unspecified             Colibri2ErrorReason = "unspecified"
)

// Colibri2Error is <error xmlns='jitsi:colibri2' reason/>, which a bridge
// adds inside the stanza <error/> of a failed conference-modify. Its
// presence tells that the error came from a bridge and not from the XMPP
// server.
type Colibri2Error struct {
	XMLName xml.Name            `xml:"jitsi:colibri2 error"`
	Reason  Colibri2ErrorReason `xml:"reason,attr,omitempty"`
}

// ParsedReason returns the reason, case-insensitively; missing or unknown
// reasons are Colibri2Unspecified.
func (e *Colibri2Error) ParsedReason() Colibri2ErrorReason {
	if e == nil {
		return Colibri2Unspecified
	}
	r := Colibri2ErrorReason(strings.ToLower(string(e.Reason)))
	switch r {
	case Colibri2ConferenceNotFound, Colibri2ConferenceAlreadyExists, Colibri2FeatureNotImplemented,
		Colibri2GracefulShutdown, Colibri2UnknownEndpoint:
		return r
	}
	return Colibri2Unspecified
}

// Colibri2StanzaError is the stanza <error type/> of a bridge's error
// response: the RFC 6120 condition and text, the colibri2 reason and, for
// unknown_endpoint, the endpoint concerned.
type Colibri2StanzaError struct {
	Type      string
	Condition string // e.g. "item-not-found"
	Text      string
	Colibri2  *Colibri2Error
	Endpoint  *Colibri2Endpoint
	Extra     []JingleRawElement
}

const colibri2NSStanzas = "urn:ietf:params:xml:ns:xmpp-stanzas"

// MarshalXML writes <error type>, the condition and text in the stanzas
// namespace, then the colibri2 extensions.
func (e Colibri2StanzaError) MarshalXML(enc *xml.Encoder, start xml.StartElement) error {
	start.Name = xml.Name{Local: "error"}
	start.Attr = nil
	if e.Type != "" {
		start.Attr = []xml.Attr{{Name: xml.Name{Local: "type"}, Value: e.Type}}
	}
	if err := enc.EncodeToken(start); err != nil {
		return err
	}
	if e.Condition != "" {
		c := xml.StartElement{Name: xml.Name{Space: colibri2NSStanzas, Local: e.Condition}}
		if err := enc.EncodeToken(c); err != nil {
			return err
		}
		if err := enc.EncodeToken(c.End()); err != nil {
			return err
		}
	}
	if e.Text != "" {
		t := xml.StartElement{Name: xml.Name{Space: colibri2NSStanzas, Local: "text"}}
		if err := enc.EncodeElement(e.Text, t); err != nil {
			return err
		}
	}
	if e.Colibri2 != nil {
		if err := enc.Encode(e.Colibri2); err != nil {
			return err
		}
	}
	if e.Endpoint != nil {
		ep := xml.StartElement{Name: xml.Name{Space: Colibri2NS, Local: "endpoint"}}
		if err := enc.EncodeElement(e.Endpoint, ep); err != nil {
			return err
		}
	}
	for _, x := range e.Extra {
		if err := enc.Encode(x); err != nil {
			return err
		}
	}
	return enc.EncodeToken(start.End())
}

// UnmarshalXML reads a stanza <error/>.
func (e *Colibri2StanzaError) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	*e = Colibri2StanzaError{}
	for _, a := range start.Attr {
		if a.Name.Space == "" && a.Name.Local == "type" {
			e.Type = a.Value
		}
	}
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch {
			case t.Name.Space == colibri2NSStanzas && t.Name.Local == "text":
				var s string
				if err := d.DecodeElement(&s, &t); err != nil {
					return err
				}
				e.Text = s
			case t.Name.Space == colibri2NSStanzas:
				e.Condition = t.Name.Local
				if err := d.Skip(); err != nil {
					return err
				}
			case t.Name.Space == Colibri2NS && t.Name.Local == "error":
				var ce Colibri2Error
				if err := d.DecodeElement(&ce, &t); err != nil {
					return err
				}
				e.Colibri2 = &ce
			case t.Name.Space == Colibri2NS && t.Name.Local == "endpoint":
				var ep Colibri2Endpoint
				if err := d.DecodeElement(&ep, &t); err != nil {
					return err
				}
				e.Endpoint = &ep
			default:
				var x JingleRawElement
				if err := d.DecodeElement(&x, &t); err != nil {
					return err
				}
				e.Extra = append(e.Extra, x)
			}
		case xml.EndElement:
			return nil
		}
	}
}

// Colibri2Healthcheck is <healthcheck xmlns='http://jitsi.org/protocol/healthcheck'/>,
// the payload of the IQ get the focus sends each bridge periodically; an
// empty result means healthy.
type Colibri2Healthcheck struct {
	XMLName xml.Name `xml:"http://jitsi.org/protocol/healthcheck healthcheck"`
}
