package xmpp

// JingleNSSSMA is the namespace of source-specific media attributes
// (XEP-0339): <source/> and <ssrc-group/>.
const JingleNSSSMA = "urn:xmpp:jingle:apps:rtp:ssma:0"

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
