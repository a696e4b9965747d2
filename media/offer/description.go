package offer

import (
	"strconv"

	"focal/xmpp"
)

func ext(h HdrExt, uri string) []xmpp.JingleRTPHdrExt {
	if !h.Enabled {
		return nil
	}
	return []xmpp.JingleRTPHdrExt{{ID: h.ID, URI: uri}}
}

func audioDescription(cfg CodecConfig, o Options) *xmpp.JingleRTPDescription {
	d := &xmpp.JingleRTPDescription{Media: xmpp.JingleMediaAudio, MaxPTime: 60}
	d.HeaderExtensions = append(d.HeaderExtensions, ext(cfg.AudioLevel, ExtAudioLevel)...)
	d.HeaderExtensions = append(d.HeaderExtensions, ext(cfg.MID, ExtMID)...)
	if o.TCC {
		d.HeaderExtensions = append(d.HeaderExtensions, ext(cfg.TCC, ExtTransportCC)...)
	}
	if cfg.Opus.Enabled {
		if cfg.Opus.RED.Enabled && o.OpusRED {
			// RED goes first, so that it is the codec chosen; its fmtp names opus
			// as both primary and redundant encoding.
			pt := strconv.Itoa(cfg.Opus.PT)
			d.PayloadTypes = append(d.PayloadTypes, xmpp.JinglePayloadType{
				ID: cfg.Opus.RED.PT, Name: "red", ClockRate: 48000, Channels: 2,
				Parameters: []xmpp.JingleParameter{{Value: pt + "/" + pt}},
			})
		}
		opus := xmpp.JinglePayloadType{ID: cfg.Opus.PT, Name: "opus", ClockRate: 48000, Channels: 2}
		opus.Parameters = append(opus.Parameters, xmpp.JingleParameter{Name: "minptime", Value: strconv.Itoa(cfg.Opus.MinPTime)})
		if cfg.Opus.UseInbandFEC && !cfg.Opus.RED.Enabled {
			opus.Parameters = append(opus.Parameters, xmpp.JingleParameter{Name: "useinbandfec", Value: "1"})
		}
		if cfg.TCC.Enabled && o.TCC {
			opus.RTCPFeedback = append(opus.RTCPFeedback, xmpp.JingleRTCPFeedback{Type: "transport-cc"})
		}
		d.PayloadTypes = append(d.PayloadTypes, opus)
	}
	if cfg.TelephoneEvent.Enabled {
		d.PayloadTypes = append(d.PayloadTypes, xmpp.JinglePayloadType{ID: cfg.TelephoneEvent.PT, Name: "telephone-event", ClockRate: 8000})
	}
	if cfg.ExtmapAllowMixed {
		d.ExtmapAllowMixed = &xmpp.JingleEmpty{}
	}
	return d
}

func videoDescription(cfg CodecConfig, o Options) *xmpp.JingleRTPDescription {
	d := &xmpp.JingleRTPDescription{Media: xmpp.JingleMediaVideo}
	video := func(c VideoCodec, name string) {
		if !c.Enabled {
			return
		}
		pt := xmpp.JinglePayloadType{ID: c.PT, Name: name, ClockRate: 90000}
		pt.RTCPFeedback = []xmpp.JingleRTCPFeedback{{Type: "ccm", Subtype: "fir"}, {Type: "nack"}, {Type: "nack", Subtype: "pli"}}
		if c.REMB && o.REMB {
			pt.RTCPFeedback = append(pt.RTCPFeedback, xmpp.JingleRTCPFeedback{Type: "goog-remb"})
		}
		if cfg.TCC.Enabled && o.TCC {
			pt.RTCPFeedback = append(pt.RTCPFeedback, xmpp.JingleRTCPFeedback{Type: "transport-cc"})
		}
		if name == "H264" {
			pt.Parameters = []xmpp.JingleParameter{{Name: "profile-level-id", Value: H264ProfileLevelID}}
		}
		d.PayloadTypes = append(d.PayloadTypes, pt)
	}
	video(cfg.AV1, "AV1")
	video(cfg.VP8, "VP8")
	video(cfg.H264, "H264")
	video(cfg.VP9, "VP9")
	rtx := func(c VideoCodec, feedback bool) {
		if !o.RTX || !c.Enabled || c.RTXPT < 0 {
			return
		}
		pt := xmpp.JinglePayloadType{ID: c.RTXPT, Name: "rtx", ClockRate: 90000,
			Parameters: []xmpp.JingleParameter{{Name: "apt", Value: strconv.Itoa(c.PT)}}}
		if feedback {
			pt.RTCPFeedback = []xmpp.JingleRTCPFeedback{{Type: "ccm", Subtype: "fir"}, {Type: "nack"}, {Type: "nack", Subtype: "pli"}}
		}
		d.PayloadTypes = append(d.PayloadTypes, pt)
	}
	rtx(cfg.AV1, true)
	rtx(cfg.VP8, true)
	rtx(cfg.VP9, true)
	rtx(cfg.H264, false)

	for _, e := range []struct {
		h   HdrExt
		uri string
	}{
		{cfg.VideoLayersAllocation, ExtVideoLayersAllocation},
		{cfg.AV1DependencyDescriptor, ExtDependencyDescriptor},
		{cfg.TOF, ExtTOffset},
		{cfg.MID, ExtMID},
		{cfg.AbsSendTime, ExtAbsSendTime},
		{cfg.Framemarking, ExtFramemarking},
		{cfg.VideoContentType, ExtVideoContentType},
		{cfg.RID, ExtRID},
	} {
		d.HeaderExtensions = append(d.HeaderExtensions, ext(e.h, e.uri)...)
	}
	if o.TCC {
		d.HeaderExtensions = append(d.HeaderExtensions, ext(cfg.TCC, ExtTransportCC)...)
	}
	if cfg.ExtmapAllowMixed {
		d.ExtmapAllowMixed = &xmpp.JingleEmpty{}
	}
	return d
}
