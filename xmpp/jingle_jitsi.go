package xmpp

// Namespaces of the Jitsi extensions carried inside a <jingle/> element.
const (
	// JingleNSJitMeet holds <ssrc-info owner/> and <json-message/>.
	JingleNSJitMeet = "http://jitsi.org/jitmeet"
	// JingleNSFocus holds <bridge-session/> and <ice-state/>.
	JingleNSFocus = "http://jitsi.org/protocol/focus"
	// JingleNSStartMuted holds <startmuted audio video/>.
	JingleNSStartMuted = "http://jitsi.org/jitmeet/start-muted"
)

// JingleSSRCInfo is <ssrc-info xmlns='http://jitsi.org/jitmeet' owner/>: the
// endpoint (MUC nickname) that sends a source, or "jvb" for the bridge.
type JingleSSRCInfo struct {
	Owner     string `xml:"owner,attr"`
	VideoType string `xml:"video-type,attr,omitempty"`
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
