package offer

// RTP header extension URIs of Jicofo's offer.
const (
	ExtAudioLevel            = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
	ExtTOffset               = "urn:ietf:params:rtp-hdrext:toffset"
	ExtAbsSendTime           = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
	ExtRID                   = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
	ExtTransportCC           = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
	ExtVideoContentType      = "http://www.webrtc.org/experiments/rtp-hdrext/video-content-type"
	ExtFramemarking          = "http://tools.ietf.org/html/draft-ietf-avtext-framemarking-07"
	ExtMID                   = "urn:ietf:params:rtp-hdrext:sdes:mid"
	ExtDependencyDescriptor  = "https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension"
	ExtVideoLayersAllocation = "http://www.webrtc.org/experiments/rtp-hdrext/video-layers-allocation00"
)

// H264ProfileLevelID is the value Jicofo gives H.264's profile-level-id
// fmtp parameter. It carries the other parameters too, as Jicofo sends it.
const H264ProfileLevelID = "42e01f;level-asymmetry-allowed=1;packetization-mode=1;"

// VideoCodec configures one video codec of the offer.
type VideoCodec struct {
	Enabled bool
	PT      int
	RTXPT   int  // payload type of its RTX stream; negative disables RTX
	REMB    bool // offer goog-remb (only to clients that want REMB)
}

// HdrExt configures one RTP header extension of the offer.
type HdrExt struct {
	Enabled bool
	ID      int
}

// AudioCodec configures an audio payload type of the offer.
type AudioCodec struct {
	Enabled bool
	PT      int
}

// OpusCodec configures opus and its RED encapsulation.
type OpusCodec struct {
	Enabled      bool
	PT           int
	MinPTime     int
	UseInbandFEC bool // not offered while RED is enabled
	RED          AudioCodec
}

// CodecConfig is the codecs and header extensions the focus offers
// (Jicofo's jicofo.codec section).
type CodecConfig struct {
	AV1, VP8, H264, VP9 VideoCodec
	Opus                OpusCodec
	TelephoneEvent      AudioCodec

	AudioLevel, AV1DependencyDescriptor, VideoLayersAllocation, TOF, AbsSendTime,
	RID, TCC, VideoContentType, Framemarking, MID HdrExt

	ExtmapAllowMixed bool
}

// DefaultCodecConfig returns Jicofo's defaults: AV1 41 (RTX 42), VP8
// 100 (96), H264 107 (99), VP9 101 (97), opus 111 with minptime 10 and
// in-band FEC, RED 112 off, telephone-event 126; header extensions
// audio-level 1, abs-send-time 3, transport-cc 5, mid 10, AV1 dependency
// descriptor 11 on and toffset 2, rid 4, video-content-type 7, framemarking
// 9, video-layers-allocation 12 off; extmap-allow-mixed on.
func DefaultCodecConfig() CodecConfig {
	var c CodecConfig
	c.AV1 = VideoCodec{Enabled: true, PT: 41, RTXPT: 42, REMB: true}
	c.VP8 = VideoCodec{Enabled: true, PT: 100, RTXPT: 96, REMB: true}
	c.H264 = VideoCodec{Enabled: true, PT: 107, RTXPT: 99, REMB: true}
	c.VP9 = VideoCodec{Enabled: true, PT: 101, RTXPT: 97, REMB: true}
	c.Opus = OpusCodec{Enabled: true, PT: 111, MinPTime: 10, UseInbandFEC: true,
		RED: AudioCodec{Enabled: false, PT: 112}}
	c.TelephoneEvent = AudioCodec{Enabled: true, PT: 126}
	c.AudioLevel = HdrExt{true, 1}
	c.TOF = HdrExt{false, 2}
	c.AbsSendTime = HdrExt{true, 3}
	c.RID = HdrExt{false, 4}
	c.TCC = HdrExt{true, 5}
	c.VideoContentType = HdrExt{false, 7}
	c.Framemarking = HdrExt{false, 9}
	c.MID = HdrExt{true, 10}
	c.AV1DependencyDescriptor = HdrExt{true, 11}
	c.VideoLayersAllocation = HdrExt{false, 12}
	c.ExtmapAllowMixed = true
	return c
}
