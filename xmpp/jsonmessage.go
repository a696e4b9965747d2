package xmpp

import (
	"encoding/json"
	"fmt"
)

// Messages of Jitsi's Prosody components to the focus: a <message/> from
// the component's address carrying <json-message
// xmlns='http://jitsi.org/jitmeet'>{"type": …, "room": …}</json-message>.

// MaxJSONMessageLen bounds the JSON a component message may carry.
const MaxJSONMessageLen = 64 << 10

// JSON message types the focus acts on.
const (
	JSONTypeAVModeration = "av_moderation"
	JSONTypeRoomMetadata = "room_metadata"
)

// JSONMessage is the envelope every component message shares.
type JSONMessage struct {
	Type string `json:"type"`
	Room string `json:"room"`
}

// JSONMessageOf returns the text of el's <json-message/> and its envelope,
// or ok false when el has none. The room_metadata component names the room
// in the element's room attribute, the others in the JSON.
func JSONMessageOf(el *Element) (text string, env JSONMessage, ok bool, err error) {
	jm := el.Child(NSJitMeet, "json-message")
	if jm == nil {
		return "", env, false, nil
	}
	if len(jm.Text) > MaxJSONMessageLen {
		return "", env, true, fmt.Errorf("json-message: %d bytes, more than %d", len(jm.Text), MaxJSONMessageLen)
	}
	if err := json.Unmarshal([]byte(jm.Text), &env); err != nil {
		return "", env, true, fmt.Errorf("json-message: %w", err)
	}
	if room := jm.AttrValue("room"); room != "" {
		env.Room = room
	}
	return jm.Text, env, true, nil
}

// RoomMetadata is what the focus reads of the room_metadata component's
// message (the component sends the focus, a room admin, the lists of who
// may be in the main room as well).
type RoomMetadata struct {
	StartMuted *struct {
		Audio bool `json:"audio"`
		Video bool `json:"video"`
	} `json:"startMuted"`
	VisitorsEnabled *bool `json:"visitorsEnabled"`
	LobbyEnabled    bool  `json:"lobbyEnabled"`
	Visitors        *struct {
		Live bool `json:"live"`
	} `json:"visitors"`
	// Participants nil lets everybody into the main room.
	Participants          []string `json:"participants"`
	Moderators            []string `json:"moderators"`
	ParticipantsSoftLimit int      `json:"participantsSoftLimit"`
}

// ParseRoomMetadata reads the JSON of a room_metadata message.
func ParseRoomMetadata(text string) (RoomMetadata, error) {
	var msg struct {
		Metadata *RoomMetadata `json:"metadata"`
	}
	if err := json.Unmarshal([]byte(text), &msg); err != nil {
		return RoomMetadata{}, fmt.Errorf("room_metadata: %w", err)
	}
	if msg.Metadata == nil {
		return RoomMetadata{}, fmt.Errorf("room_metadata: no metadata")
	}
	if msg.Metadata.ParticipantsSoftLimit < 0 {
		return RoomMetadata{}, fmt.Errorf("room_metadata: participantsSoftLimit %d", msg.Metadata.ParticipantsSoftLimit)
	}
	return *msg.Metadata, nil
}

// AVModeration is the av_moderation component's message: moderation of
// one media type switched on or off by Actor (an occupant JID), and/or the
// occupants allowed to unmute, by media type.
type AVModeration struct {
	Enabled    *bool               `json:"enabled"`
	MediaType  string              `json:"mediaType"`
	Actor      string              `json:"actor"`
	Whitelists map[string][]string `json:"whitelists"`
	Removed    bool                `json:"removed"`
}

// ParseAVModeration reads the JSON of an av_moderation message.
func ParseAVModeration(text string) (AVModeration, error) {
	var m AVModeration
	if err := json.Unmarshal([]byte(text), &m); err != nil {
		return m, fmt.Errorf("av_moderation: %w", err)
	}
	switch m.MediaType {
	case "", "audio", "video", "desktop":
	default:
		return m, fmt.Errorf("av_moderation: unknown mediaType %q", m.MediaType)
	}
	if m.Enabled != nil && m.MediaType == "" {
		return m, fmt.Errorf("av_moderation: enabled without a mediaType")
	}
	for media := range m.Whitelists {
		switch media {
		case "audio", "video", "desktop":
		default:
			return m, fmt.Errorf("av_moderation: whitelist of unknown media %q", media)
		}
	}
	return m, nil
}
