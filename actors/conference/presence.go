package conference

import (
	"errors"
	"strconv"

	"github.com/asynkron/protoactor-go/actor"

	"focal/proto"
	"focal/xmpp"
	"focal/xmpp/session"
)

// The focus's presence in the room carries what Jicofo's does: its
// version, the conference's properties (bridge-count among them) and
// <bridgeNotAvailable/> while no bridge can be had. It is derived from the
// conference after every message, like the replicated state: whatever
// changed it, an update goes to the room when (and only when) what it
// carries differs from what the room was last told.

// focusPresence is what the focus's presence carries now.
func (c *conference) focusPresence() xmpp.FocusPresence {
	return c.presenceFor(len(c.bridges), c.bridgeUnavailable)
}

// presenceFor is the focus's presence with bridges bridge sessions.
func (c *conference) presenceFor(bridges int, unavailable bool) xmpp.FocusPresence {
	return c.presenceOf(bridges, unavailable, c.st.VisitorNodes)
}

// presenceOf is the focus's presence with bridges bridge sessions and
// visitor nodes vnodes.
func (c *conference) presenceOf(bridges int, unavailable bool, vnodes []*focalpb.VisitorNodeState) xmpp.FocusPresence {
	p := xmpp.FocusPresence{
		Version: c.cfg.Version,
		Properties: []xmpp.ConferenceProperty{
			{Key: xmpp.PropSupportTerminateRestart, Value: "true"},
			{Key: xmpp.PropBridgeCount, Value: strconv.Itoa(bridges)},
		},
		BridgeNotAvailable: unavailable,
	}
	if prop, ok := visitorCountProperty(vnodes); ok {
		p.Properties = append(p.Properties, prop)
	}
	return p
}

// updatePresence sends the room a presence update if what the focus's
// presence carries changed since the room was last told.
func (c *conference) updatePresence() {
	if !c.joined || !c.streamUp || c.standby || c.ending || c.wire == nil {
		return
	}
	p := c.focusPresence()
	key := p.Key()
	if key == c.presenceSent {
		return
	}
	if err := c.wire.Send(xmpp.FocusPresenceUpdate(c.room, c.cfg.Nick, p)); err != nil {
		if errors.Is(err, session.ErrNotConnected) {
			c.streamUp = false // StreamUp re-joins, or (resumed) comes back here
			return
		}
		c.log.Error("presence update", "err", err)
		return
	}
	c.presenceSent = key
	c.updateVisitorRooms(p)
}

// Meeting id. Jitsi's mod_muc_meeting_id gives every room a meeting id,
// which the room's disco#info form carries; like Jicofo, the conference
// uses it as the Colibri2 meeting-id, so that the bridges' and Prosody's
// records of the meeting agree. Bridges are chosen only once the room has
// answered (or failed to): a bridge session's meeting id never changes.

// roomInfo is the room's answer to the disco#info the focus sent.
type roomInfo struct {
	meetingID string
	mainRoom  string
	err       error
}

// askRoomInfo sends the room the disco#info query, unless the meeting id
// is settled or a query is out.
func (c *conference) askRoomInfo() {
	if c.meetingIDSettled || c.roomInfoAsked {
		return
	}
	c.roomInfoAsked = true
	self, root := c.self, c.root
	c.wire.Request(xmpp.RoomInfoQuery(c.room), c.cfg.RequestTimeout, func(res *xmpp.Element, err error) {
		info := roomInfo{err: err}
		if err == nil {
			parsed := xmpp.ParseRoomInfo(res)
			info.meetingID, info.mainRoom = parsed.MeetingID, parsed.MainRoom
		}
		root.Send(self, info)
	})
}

// onRoomInfo settles the meeting id: the room's, or the conference's own
// when the room has none or did not answer; then bridges can be chosen.
func (c *conference) onRoomInfo(ctx actor.Context, info roomInfo) {
	c.roomInfoAsked = false
	if c.meetingIDSettled || c.standby {
		return
	}
	c.meetingIDSettled = true
	if info.mainRoom != "" {
		c.st.MainRoom = info.mainRoom
		c.log.Info("breakout room", "main_room", info.mainRoom)
	}
	switch {
	case info.err != nil:
		c.log.Warn("room disco#info failed; keeping the generated meeting id", "err", info.err, "meeting_id", c.st.MeetingId)
	case info.meetingID == "":
		c.log.Info("the room has no meeting id; keeping the generated one", "meeting_id", c.st.MeetingId)
	default:
		c.st.MeetingId = info.meetingID
		c.log.Info("meeting id from the room", "meeting_id", c.st.MeetingId)
	}
	c.selectBridges(ctx)
}
