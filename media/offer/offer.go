// Package offer builds what the focus offers each participant: the offer
// options, the codec config and its defaults, the offer's contents and the
// session-initiate Jingle.
package offer

import (
	"focal/xmpp"
)

// Options say what to offer one participant, from its features
// (disco#info) and the conference's state.
type Options struct {
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

	// Codecs overrides DefaultCodecConfig.
	Codecs *CodecConfig
}

// DefaultOptions is what Jicofo offers a client whose features are
// unknown: audio, video, SCTP, TCC, RTX and opus RED; no REMB.
func DefaultOptions() Options {
	return Options{Audio: true, Video: true, SCTP: true, TCC: true, RTX: true, OpusRED: true}
}

// Contents builds the contents of an offer: "audio", "video" and
// "data" (each only if offered), created by the initiator with senders both,
// without transports (see UseBridgeTransport) or sources.
func Contents(o Options) []xmpp.JingleContent {
	cfg := DefaultCodecConfig()
	if o.Codecs != nil {
		cfg = *o.Codecs
	}
	content := func(name string, d *xmpp.JingleRTPDescription) xmpp.JingleContent {
		return xmpp.JingleContent{Creator: xmpp.JingleCreatorInitiator, Name: name, Senders: xmpp.JingleSendersBoth, Description: d}
	}
	var out []xmpp.JingleContent
	if o.Audio {
		out = append(out, content(xmpp.JingleContentAudio, audioDescription(cfg, o)))
	}
	if o.Video {
		out = append(out, content(xmpp.JingleContentVideo, videoDescription(cfg, o)))
	}
	if o.SCTP {
		out = append(out, content(xmpp.JingleContentData, &xmpp.JingleRTPDescription{Media: xmpp.JingleMediaApplication}))
	}
	return out
}

// New returns a session-initiate from initiator with the offer
// contents for o, a BUNDLE group and, if asked, <startmuted/>. The caller
// adds the bridge transport, the bridge session and the sources.
func New(sid, initiator string, o Options) *xmpp.Jingle {
	j := &xmpp.Jingle{Action: xmpp.JingleSessionInitiate, SID: sid, Initiator: initiator, Contents: Contents(o)}
	j.SetBundleGroup()
	if o.StartAudioMuted || o.StartVideoMuted {
		j.StartMuted = &xmpp.JingleStartMuted{Audio: o.StartAudioMuted, Video: o.StartVideoMuted}
	}
	return j
}

// SCTPStreams is the number of SCTP streams Jicofo's offer gives the data
// channel.
const SCTPStreams = 1024

// UseBridgeTransport puts a copy of the bridge's transport t into every
// content of j, adds the <sctpmap/> for sctpPort to the data content and
// rtcp-mux to every RTP description, the way Jicofo completes an offer (or a
// transport-replace) after allocating the participant on a bridge.
func UseBridgeTransport(j *xmpp.Jingle, t *xmpp.JingleICETransport, sctpPort int) {
	for i := range j.Contents {
		c := &j.Contents[i]
		if t != nil {
			c.Transport = t.Clone()
			if c.Name == xmpp.JingleContentData {
				c.Transport.SCTPMap = &xmpp.JingleSCTPMap{
					Number:   sctpPort,
					Protocol: xmpp.JingleSCTPProtocolDataChannel,
					Streams:  SCTPStreams,
				}
			}
		}
		if c.Description != nil && c.Description.RTCPMux == nil {
			c.Description.RTCPMux = &xmpp.JingleEmpty{}
		}
	}
}
