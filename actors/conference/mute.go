package conference

import (
	"slices"
	"strings"

	"github.com/asynkron/protoactor-go/actor"

	"focal/actors/bridge"
	"focal/proto"
	"focal/xmpp"
)

// Muting, as Jitsi Meet asks the focus for it. A moderator may mute
// anyone, anyone may mute themselves, nobody may unmute someone else; the
// participant muted by another is told so, with the actor. Jitsi's
// av_moderation component switches moderation on and off per media type
// and names who may unmute meanwhile: the others may not unmute
// themselves, and the bridge drops their media (force-mute), newcomers'
// included. Both the moderation and what each bridge was told are
// replicated state.

// onMute handles a <mute/> request from member from.
func (c *conference) onMute(ctx actor.Context, iq *xmpp.Element, from *member, payload *xmpp.Element) {
	req, err := xmpp.ParseMute(payload)
	if err != nil {
		c.reply(xmpp.ErrorFor(iq, xmpp.NewStanzaError(xmpp.BadRequest, err.Error())))
		return
	}
	if req.JID == "" {
		c.reply(xmpp.ErrorFor(iq, xmpp.NewStanzaError(xmpp.BadRequest, "mute: no jid")))
		return
	}
	if iq.AttrValue("type") != xmpp.IQSet {
		c.reply(xmpp.ErrorFor(iq, xmpp.NewStanzaError(xmpp.BadRequest, "a mute request is an IQ of type set")))
		return
	}
	room, nick, _ := strings.Cut(req.JID, "/")
	target := c.members[nick]
	if !strings.EqualFold(room, c.room) || target == nil {
		c.reply(xmpp.ErrorFor(iq, xmpp.NewStanzaError(xmpp.ItemNotFound, "no participant "+req.JID+" in "+c.room)))
		return
	}
	remote := target != from
	switch {
	case remote && from.Role != xmpp.RoleModerator:
		c.reply(xmpp.ErrorFor(iq, xmpp.NewStanzaError(xmpp.NotAllowed, "only moderators mute others")))
		return
	case remote && !req.Mute:
		c.reply(xmpp.ErrorFor(iq, xmpp.NewStanzaError(xmpp.NotAllowed, "nobody unmutes someone else")))
		return
	case !req.Mute && from.Role != xmpp.RoleModerator && !c.mayUnmute(target, req.Media):
		c.reply(xmpp.ErrorFor(iq, xmpp.NewStanzaError(xmpp.NotAllowed, "audio/video moderation: not allowed to unmute")))
		return
	}
	c.log.Info("mute", "participant", target.Nick, "by", from.Nick, "media", req.Media, "mute", req.Mute)
	c.reply(xmpp.ResultFor(iq, nil))
	if remote {
		c.tellMuted(target, req.Media, req.Mute, c.occupant(from.Nick))
	}
	c.syncForceMute(ctx, target)
}

func (c *conference) occupant(nick string) string { return c.room + "/" + nick }

// tellMuted sends m the mute notification, as from actor ("" for the
// focus itself). It is sent without awaiting an answer, as Jicofo sends
// it: lib-jitsi-meet handles it and never answers (strophe.emuc onMute),
// so a tracked request would only time out.
func (c *conference) tellMuted(m *member, media xmpp.MuteMedia, mute bool, actor string) {
	n := xmpp.MuteRequest{Media: media, Mute: mute, Actor: actor}
	iq := xmpp.NewIQ(xmpp.IQSet, "", c.occupant(m.Nick), "", n.Element())
	c.queue(iq, focalpb.OutgoingKind_OUTGOING_STANZA, m.Nick, "", nil)
}

// mayUnmute says whether AV moderation lets m unmute media.
func (c *conference) mayUnmute(m *member, media xmpp.MuteMedia) bool {
	on, whitelist := c.moderation(media)
	return !on || slices.Contains(whitelist, c.occupant(m.Nick))
}

func (c *conference) moderation(media xmpp.MuteMedia) (bool, []string) {
	av := c.st.GetAvModeration()
	switch media {
	case xmpp.MuteVideo:
		return av.GetVideo(), av.GetVideoWhitelist()
	case xmpp.MuteDesktop:
		return av.GetDesktop(), av.GetDesktopWhitelist()
	}
	return av.GetAudio(), av.GetAudioWhitelist()
}

// forceMute is what the bridge should drop of m's media: audio when m may
// not unmute it, video when m may unmute neither camera nor screen.
func (c *conference) forceMute(m *member) xmpp.Colibri2ForceMute {
	return xmpp.Colibri2ForceMute{
		Audio: !c.mayUnmute(m, xmpp.MuteAudio),
		Video: !c.mayUnmute(m, xmpp.MuteVideo) && !c.mayUnmute(m, xmpp.MuteDesktop),
	}
}

// syncForceMute tells m's bridge what to drop, if that changed.
func (c *conference) syncForceMute(ctx actor.Context, m *member) {
	want := c.forceMute(m)
	if !m.Allocated || (want.Audio == m.ForceMutedAudio && want.Video == m.ForceMutedVideo) {
		return
	}
	m.ForceMutedAudio, m.ForceMutedVideo = want.Audio, want.Video
	c.updateEndpoint(ctx, m, &bridge.UpdateEndpoint{Endpoint: m.Nick, ForceMute: &want})
}

// onAVModeration takes in the av_moderation component's message.
func (c *conference) onAVModeration(ctx actor.Context, text string) {
	msg, err := xmpp.ParseAVModeration(text)
	if err != nil {
		c.log.Warn("unreadable av_moderation message", "err", err)
		return
	}
	if c.st.AvModeration == nil {
		c.st.AvModeration = &focalpb.AVModeration{}
	}
	av := c.st.AvModeration
	if msg.Whitelists != nil {
		av.AudioWhitelist = slices.Clone(msg.Whitelists["audio"])
		av.VideoWhitelist = slices.Clone(msg.Whitelists["video"])
		av.DesktopWhitelist = slices.Clone(msg.Whitelists["desktop"])
	}
	enabledNow := false
	if msg.Enabled != nil {
		media := xmpp.MuteMedia(msg.MediaType)
		was, _ := c.moderation(media)
		switch media {
		case xmpp.MuteAudio:
			av.Audio = *msg.Enabled
		case xmpp.MuteVideo:
			av.Video = *msg.Enabled
		case xmpp.MuteDesktop:
			av.Desktop = *msg.Enabled
		}
		c.log.Info("audio/video moderation", "media", media, "enabled", *msg.Enabled, "actor", msg.Actor)
		if *msg.Enabled && !was {
			enabledNow = true
			// Everybody but the actor is told to mute, as Jicofo does.
			for _, m := range c.membersInOrder() {
				if c.occupant(m.Nick) != msg.Actor {
					c.tellMuted(m, media, true, "")
				}
			}
		}
	}
	for _, m := range c.membersInOrder() {
		if enabledNow && c.occupant(m.Nick) == msg.Actor {
			continue // the actor keeps its media until the whitelist says otherwise
		}
		c.syncForceMute(ctx, m)
	}
}
