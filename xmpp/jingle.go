package xmpp

import (
	"encoding/xml"
	"strings"
)

// JingleNS is the namespace of Jingle (XEP-0166).
const JingleNS = "urn:xmpp:jingle:1"

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
