package xmpp

import (
	"path/filepath"
	"reflect"
	"testing"

	"focal/internal/xmltest"
)

func TestParseMute(t *testing.T) {
	for _, tc := range []struct {
		file string
		want MuteRequest
	}{
		{"moderator-mutes-audio.xml", MuteRequest{Media: MuteAudio, JID: "room1@conference.meet.jitsi/bob", Mute: true}},
		{"notification-video.xml", MuteRequest{Media: MuteVideo, Mute: true, Actor: "room1@conference.meet.jitsi/alice"}},
	} {
		el, _ := elemTestGolden(t, filepath.Join("testdata", "mute", tc.file))
		got, err := ParseMute(el.FirstChild())
		if err != nil || got != tc.want {
			t.Errorf("%s: %+v, %v; want %+v", tc.file, got, err, tc.want)
		}
		// What it writes reads back the same.
		again, err := ParseMute(got.Element())
		if err != nil || again != got {
			t.Errorf("%s: round trip %+v, %v", tc.file, again, err)
		}
	}
	for _, bad := range []*Element{
		nil,
		NewElement("urn:other", "mute").WithText("true"),
		NewElement(NSMuteAudio, "unmute").WithText("true"),
		NewElement(NSMuteAudio, "mute", "jid", "r@c/n").WithText("yes"),
		NewElement(NSMuteAudio, "mute", "jid", "r@c/n"),
	} {
		if m, err := ParseMute(bad); err == nil {
			t.Errorf("ParseMute(%v) = %+v, want an error", bad, m)
		}
	}
}

func TestComponents(t *testing.T) {
	el, _ := elemTestGolden(t, filepath.Join("testdata", "components", "jitsi-domain.xml"))
	want := map[string]string{
		"av_moderation": "avmoderation.meet.jitsi", "breakout_rooms": "breakout.meet.jitsi",
		"room_metadata": "metadata.meet.jitsi", "lobbyrooms": "lobby.meet.jitsi", "speakerstats": "speakerstats.meet.jitsi",
	}
	if got := Components(el); !reflect.DeepEqual(got, want) {
		t.Errorf("Components = %v, want %v", got, want)
	}
	if got := Components(nil); len(got) != 0 {
		t.Errorf("Components(nil) = %v", got)
	}
}

func TestParseAVModeration(t *testing.T) {
	on, err := ParseAVModeration(`{"type":"av_moderation","room":"r@c","enabled":true,"mediaType":"video","actor":"r@c/a"}`)
	if err != nil || on.Enabled == nil || !*on.Enabled || on.MediaType != "video" || on.Actor != "r@c/a" {
		t.Errorf("enable: %+v, %v", on, err)
	}
	wl, err := ParseAVModeration(`{"type":"av_moderation","room":"r@c","whitelists":{"audio":["r@c/a","r@c/b"]}}`)
	if err != nil || wl.Enabled != nil || !reflect.DeepEqual(wl.Whitelists["audio"], []string{"r@c/a", "r@c/b"}) {
		t.Errorf("whitelist: %+v, %v", wl, err)
	}
	for _, bad := range []string{
		`{`,
		`{"enabled":true}`,
		`{"enabled":true,"mediaType":"smell"}`,
		`{"whitelists":{"smell":[]}}`,
		`{"whitelists":{"audio":"r@c/a"}}`,
	} {
		if m, err := ParseAVModeration(bad); err == nil {
			t.Errorf("ParseAVModeration(%s) = %+v, want an error", bad, m)
		}
	}
}

func TestJSONMessageOf(t *testing.T) {
	msg := NewElement("", KindMessage).Append(NewElement(NSJitMeet, "json-message").WithText(`{"type":"av_moderation","room":"r@c"}`))
	if _, env, ok, err := JSONMessageOf(msg); !ok || err != nil || env.Type != JSONTypeAVModeration || env.Room != "r@c" {
		t.Errorf("JSONMessageOf: %+v %v %v", env, ok, err)
	}
	if _, _, ok, _ := JSONMessageOf(NewElement("", KindMessage)); ok {
		t.Error("a message without json-message has one")
	}
	big := NewElement("", KindMessage).Append(NewElement(NSJitMeet, "json-message").WithText(string(make([]byte, MaxJSONMessageLen+1))))
	if _, _, ok, err := JSONMessageOf(big); !ok || err == nil {
		t.Errorf("an oversized json-message: ok %v err %v", ok, err)
	}
}

func FuzzParseMute(f *testing.F) {
	xmltest.AddFuzzSeeds(f, filepath.Join("testdata", "mute"))
	f.Fuzz(func(t *testing.T, data []byte) {
		el, err := Parse(data)
		if err != nil {
			return
		}
		m, err := ParseMute(el.FirstChild())
		if err != nil {
			return
		}
		if again, err := ParseMute(m.Element()); err != nil || again != m {
			t.Fatalf("round trip of %+v: %+v, %v", m, again, err)
		}
	})
}

func FuzzParseAVModeration(f *testing.F) {
	f.Add(`{"type":"av_moderation","room":"r@c","enabled":true,"mediaType":"audio","actor":"r@c/a"}`)
	f.Add(`{"whitelists":{"audio":["r@c/a"],"video":[]}}`)
	f.Fuzz(func(t *testing.T, text string) {
		m, err := ParseAVModeration(text)
		if err != nil {
			return
		}
		if m.Enabled != nil && m.MediaType == "" {
			t.Fatalf("accepted enabled without a media type: %s", text)
		}
	})
}

func FuzzComponents(f *testing.F) {
	xmltest.AddFuzzSeeds(f, filepath.Join("testdata", "components"))
	f.Fuzz(func(t *testing.T, data []byte) {
		el, err := Parse(data)
		if err != nil {
			return
		}
		for typ, addr := range Components(el) {
			if typ == "" || addr == "" {
				t.Fatalf("component %q at %q", typ, addr)
			}
		}
	})
}

func TestParseRoomMetadata(t *testing.T) {
	md, err := ParseRoomMetadata(`{"type":"room_metadata","metadata":{"startMuted":{"audio":true},"visitorsEnabled":false,"participants":[],"moderators":["m1"],"participantsSoftLimit":20,"unknown":{"x":1}}}`)
	if err != nil || md.StartMuted == nil || !md.StartMuted.Audio || md.StartMuted.Video ||
		md.VisitorsEnabled == nil || *md.VisitorsEnabled || md.Participants == nil || len(md.Participants) != 0 ||
		len(md.Moderators) != 1 || md.ParticipantsSoftLimit != 20 {
		t.Errorf("ParseRoomMetadata: %+v, %v", md, err)
	}
	open, err := ParseRoomMetadata(`{"type":"room_metadata","metadata":{}}`)
	if err != nil || open.Participants != nil || open.StartMuted != nil || open.VisitorsEnabled != nil {
		t.Errorf("empty metadata: %+v, %v", open, err)
	}
	for _, bad := range []string{`{}`, `{"metadata":null}`, `{"metadata":{"participantsSoftLimit":-1}}`, `{"metadata":{"participants":"u1"}}`, `[`} {
		if md, err := ParseRoomMetadata(bad); err == nil {
			t.Errorf("ParseRoomMetadata(%s) = %+v, want an error", bad, md)
		}
	}
	// The component names the room in the element, not the JSON.
	msg := NewElement("", KindMessage).Append(NewElement(NSJitMeet, "json-message", "room", "r@c").WithText(`{"type":"room_metadata","metadata":{}}`))
	if _, env, ok, err := JSONMessageOf(msg); !ok || err != nil || env.Room != "r@c" || env.Type != JSONTypeRoomMetadata {
		t.Errorf("room_metadata envelope %+v %v %v", env, ok, err)
	}
}

func FuzzParseRoomMetadata(f *testing.F) {
	f.Add(`{"type":"room_metadata","metadata":{"startMuted":{"audio":true,"video":true},"participants":["a"]}}`)
	f.Fuzz(func(t *testing.T, text string) {
		md, err := ParseRoomMetadata(text)
		if err == nil && md.ParticipantsSoftLimit < 0 {
			t.Fatalf("accepted a negative soft limit: %s", text)
		}
	})
}
