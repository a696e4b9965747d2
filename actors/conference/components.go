package conference

import (
	"github.com/asynkron/protoactor-go/actor"

	"focal/proto"
	"focal/xmpp"
)

// Messages from Jitsi's Prosody components about the room (the ingress
// passes on only those from the components it discovered): AV moderation
// (mute.go) and the room's metadata.

// onComponentMessage handles a message the ingress took from one of
// Jitsi's components about this room.
func (c *conference) onComponentMessage(ctx actor.Context, el *xmpp.Element) {
	text, env, ok, err := xmpp.JSONMessageOf(el)
	if !ok || err != nil {
		return
	}
	switch env.Type {
	case xmpp.JSONTypeAVModeration:
		c.onAVModeration(ctx, text)
	case xmpp.JSONTypeRoomMetadata:
		c.onRoomMetadata(text)
	}
}

// onRoomMetadata keeps what the room_metadata component says about the
// room: its start-muted policy applies to every newcomer's offer.
func (c *conference) onRoomMetadata(text string) {
	md, err := xmpp.ParseRoomMetadata(text)
	if err != nil {
		c.log.Warn("unreadable room_metadata message", "err", err)
		return
	}
	st := &focalpb.RoomMetadata{
		LobbyEnabled:          md.LobbyEnabled,
		Participants:          md.Participants,
		ParticipantsSet:       md.Participants != nil,
		Moderators:            md.Moderators,
		ParticipantsSoftLimit: int32(md.ParticipantsSoftLimit),
	}
	if md.StartMuted != nil {
		st.StartAudioMuted, st.StartVideoMuted = md.StartMuted.Audio, md.StartMuted.Video
	}
	if md.VisitorsEnabled != nil {
		st.VisitorsEnabled, st.VisitorsEnabledSet = *md.VisitorsEnabled, true
	}
	if md.Visitors != nil {
		st.VisitorsLive = md.Visitors.Live
	}
	c.st.Metadata = st
}

// refuseOccupantMessage answers a json-message an occupant sent the focus
// through the room as if it were a component's.
func (c *conference) refuseOccupantMessage(el *xmpp.Element) {
	if el.AttrValue("type") == "error" {
		return
	}
	if _, _, ok, _ := xmpp.JSONMessageOf(el); ok {
		c.log.Warn("json-message from an occupant refused", "from", el.AttrValue("from"))
		c.send(xmpp.MessageErrorFor(el, xmpp.NewStanzaError(xmpp.NotAllowed, "only Jitsi's components send the focus json-messages")), "")
	}
}
