package jitsimeet_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"focal/actors/conference"
	"focal/cluster"
	"focal/internal/clustertest"
	"focal/internal/jitsimeet"
	"focal/internal/prosodytest"
)

// Jitsi Meet's room features through the focus (issue 11), with the real
// client inside a Prosody configured as a Jitsi Meet deployment: the
// moderator's mute, AV moderation, breakout rooms, the lobby.

// jitsiDeploy is deploy with Jitsi's own Prosody modules loaded.
func jitsiDeploy(t *testing.T, opts clustertest.Options) (*deployment, context.Context) {
	t.Helper()
	plugins, err := prosodytest.JitsiPluginsDir()
	if err != nil {
		t.Fatalf("the Jitsi deployment needs Jitsi Meet's Prosody modules: %v", err)
	}
	opts.Prosody.JitsiPlugins = plugins
	d, ctx := deploy(t, opts)
	keepProsodyLog(t, d.c.Prosody)
	return d, ctx
}

// keepProsodyLog copies Prosody's debug log of a failed test next to the
// test binary's temporary files (os.TempDir), for the stanzas it names.
func keepProsodyLog(t *testing.T, p *prosodytest.Server) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		data, err := os.ReadFile(filepath.Join(p.Base, "prosody.log"))
		if err != nil {
			t.Logf("prosody log: %v", err)
			return
		}
		out := filepath.Join(os.TempDir(), "focal-"+strings.ReplaceAll(t.Name(), "/", "_")+"-prosody.log")
		if err := os.WriteFile(out, data, 0o644); err != nil {
			t.Logf("prosody log: %v", err)
			return
		}
		t.Logf("prosody's debug log: %s", out)
	})
}

// awaitModerator waits until p is moderator.
func awaitModerator(ctx context.Context, t *testing.T, p *jitsimeet.Page) {
	t.Helper()
	if _, err := p.Await(ctx, "moderator role", func(e jitsimeet.Event) bool {
		return (e.Type == jitsimeet.ConferenceJoined && e.Moderator) ||
			(e.Type == jitsimeet.UserRoleChanged && e.Local && e.Detail == "moderator")
	}); err != nil {
		t.Fatal(err)
	}
}

// do runs a page action and fails the test if it throws.
func do(ctx context.Context, t *testing.T, p *jitsimeet.Page, out any, action string, args ...any) {
	t.Helper()
	if err := p.Do(ctx, out, action, args...); err != nil {
		t.Fatal(err)
	}
}

// muteNS is the namespace of a mute request for media.
func muteNS(media string) string { return "http://jitsi.org/jitmeet/" + media }

// isMuteStanza says whether e is a stanza of dir carrying a mute element of
// media with value (true or false).
func isMuteStanza(e jitsimeet.Event, dir, media, value string) bool {
	return e.Type == jitsimeet.Stanza && e.Dir == dir && strings.Contains(e.Detail, muteNS(media)) &&
		strings.Contains(e.Detail, ">"+value+"</mute>")
}

// localMuted matches the page's own track of media changing to muted (or
// unmuted).
func localMuted(media string, muted bool) func(jitsimeet.Event) bool {
	want := "unmuted"
	if muted {
		want = "muted"
	}
	return func(e jitsimeet.Event) bool {
		return e.Type == jitsimeet.TrackMuteChanged && e.Local && e.Media == media && e.Detail == want
	}
}

// remoteMuted matches id's track of media changing to muted (or unmuted)
// at another page.
func remoteMuted(id, media string, muted bool) func(jitsimeet.Event) bool {
	want := "unmuted"
	if muted {
		want = "muted"
	}
	return func(e jitsimeet.Event) bool {
		return e.Type == jitsimeet.TrackMuteChanged && !e.Local && e.Participant == id && e.Media == media && e.Detail == want
	}
}

// awaitMuteAnswer waits on p for a mute request of media with value
// (true or false) that p sent after mark, and for the focus's answer to
// it (the page reports the answers to its mute requests, results too),
// and returns both.
func awaitMuteAnswer(ctx context.Context, t *testing.T, p *jitsimeet.Page, mark int, media, value string) (sent, answer jitsimeet.Event) {
	t.Helper()
	sent, err := p.AwaitAfter(ctx, mark, fmt.Sprintf("a %s mute=%s request", media, value), func(e jitsimeet.Event) bool {
		return isMuteStanza(e, "out", media, value)
	})
	if err != nil {
		t.Fatal(err)
	}
	id := attr(sent.Detail, "id")
	answer, err = p.AwaitAfter(ctx, sent.Seq+1, "the answer to "+id, func(e jitsimeet.Event) bool {
		return e.Type == jitsimeet.Stanza && e.Dir == "in" && strings.HasPrefix(e.Detail, "<iq") && attr(e.Detail, "id") == id
	})
	if err != nil {
		t.Fatal(err)
	}
	return sent, answer
}

// attr is the value of the first attribute name in the serialized stanza.
func attr(stanza, name string) string {
	_, rest, ok := strings.Cut(stanza, " "+name+"=\"")
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, "\"")
	return v
}

// forceMuted reads what the simulated bridge was told to drop of each
// endpoint's audio, by endpoint id (the participant's id).
func forceMuted(ctx context.Context, c *clustertest.Cluster) (map[string]bool, error) {
	st, err := c.Bridge(0).Status(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, eps := range st.Meetings {
		for _, ep := range eps {
			out[ep] = false
		}
	}
	for key, fm := range st.ForceMute {
		_, ep, _ := strings.Cut(key, "/")
		out[ep] = fm.Audio
	}
	return out, nil
}

// bridgePoll is how often awaitForceMute reads the bridge's state, which
// has no notification to wait on.
const bridgePoll = 50 * time.Millisecond

// awaitForceMute waits until the bridge drops the audio of exactly the
// endpoints want says (true) and forwards that of the others listed
// (false); endpoints not in want are not looked at.
func awaitForceMute(ctx context.Context, t *testing.T, c *clustertest.Cluster, want map[string]bool) {
	t.Helper()
	var last map[string]bool
	tick := time.NewTicker(bridgePoll)
	defer tick.Stop()
	for {
		got, err := forceMuted(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		last = got
		ok := true
		for ep, w := range want {
			if v, present := got[ep]; !present || v != w {
				ok = false
			}
		}
		if ok {
			t.Logf("bridge: audio force-muted %v", got)
			return
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("bridge: audio force-mute %v, want %v", last, want)
		}
	}
}

// 1. A moderator mutes another page's audio: the target's own track
// becomes muted (the focus's mute IQ names the moderator as actor) and
// the moderator and the third page see it muted. "Mute everyone" mutes
// the rest one by one. A participant who is not moderator cannot mute the
// moderator: the focus refuses (not-allowed) and nothing is muted.
func TestModeratorMutesAPage(t *testing.T) {
	d, ctx := jitsiDeploy(t, clustertest.Options{})
	pages := d.open(ctx, t, "page", 3)
	room := "mute"
	ids := d.join(ctx, t, room, pages)
	awaitFullMesh(ctx, t, pages, ids)
	mod := pages[0]
	awaitModerator(ctx, t, mod)

	muteAt := time.Now()
	do(ctx, t, mod, nil, "muteParticipant", ids[1], "audio")
	muted, err := pages[1].Await(ctx, "its audio muted by the moderator", localMuted("audio", true))
	if err != nil {
		t.Fatal(err)
	}
	notice, err := pages[1].Await(ctx, "the focus's mute IQ", func(e jitsimeet.Event) bool { return isMuteStanza(e, "in", "audio", "true") })
	if err != nil {
		t.Fatal(err)
	}
	if actor := attr(notice.Detail, "actor"); actor != d.c.Room(room)+"/"+ids[0] {
		t.Errorf("%s: mute IQ actor %q, want the moderator %s: %s", pages[1].Name, actor, d.c.Room(room)+"/"+ids[0], notice.Detail)
	}
	t.Logf("%s: own audio muted %v after the moderator's request", pages[1].Name, muted.At.Sub(muteAt).Round(time.Millisecond))
	for _, p := range []*jitsimeet.Page{mod, pages[2]} {
		if _, err := p.Await(ctx, ids[1]+"'s audio muted", remoteMuted(ids[1], "audio", true)); err != nil {
			t.Fatal(err)
		}
	}

	// "Mute everyone": the moderator mutes each of the others.
	for _, id := range ids[1:] {
		do(ctx, t, mod, nil, "muteParticipant", id, "audio")
	}
	if _, err := pages[2].Await(ctx, "its audio muted by the moderator", localMuted("audio", true)); err != nil {
		t.Fatal(err)
	}
	for _, p := range pages[:2] {
		if _, err := p.Await(ctx, ids[2]+"'s audio muted", remoteMuted(ids[2], "audio", true)); err != nil {
			t.Fatal(err)
		}
	}
	// The one already muted stays so and is told again, harmlessly.
	if n := pages[1].Count(localMuted("audio", false)); n != 0 {
		t.Errorf("%s: its audio was unmuted %d times", pages[1].Name, n)
	}

	// "Stop video": the moderator mutes a page's camera.
	do(ctx, t, mod, nil, "muteParticipant", ids[1], "video")
	if _, err := pages[1].Await(ctx, "its video muted by the moderator", localMuted("video", true)); err != nil {
		t.Fatal(err)
	}
	if _, err := mod.Await(ctx, ids[1]+"'s video muted", remoteMuted(ids[1], "video", true)); err != nil {
		t.Fatal(err)
	}

	// A participant (not moderator) tries to mute the moderator.
	mark := pages[2].Mark()
	modMark := mod.Mark()
	do(ctx, t, pages[2], nil, "muteParticipant", ids[0], "audio")
	_, answer := awaitMuteAnswer(ctx, t, pages[2], mark, "audio", "true")
	if !strings.Contains(answer.Detail, `type="error"`) || !strings.Contains(answer.Detail, "not-allowed") {
		t.Errorf("%s: muting the moderator answered %s, want a not-allowed error", pages[2].Name, answer.Detail)
	}
	t.Logf("%s: muting the moderator refused: %s", pages[2].Name, answer.Detail)
	var modMuted bool
	do(ctx, t, mod, &modMuted, "localMuted", "audio")
	if modMuted {
		t.Errorf("%s: the moderator's audio is muted after a participant's refused request", mod.Name)
	}
	for _, e := range mod.Events()[modMark:] {
		if isMuteStanza(e, "in", "audio", "true") || localMuted("audio", true)(e) {
			t.Errorf("%s: muted after a participant's refused request: %s", mod.Name, e)
		}
	}
	noFailures(t, pages)
	prosodyErrors(t, d.c.Prosody)
}

// 2. AV moderation: the moderator enables it for audio through Jitsi's
// av_moderation component. The others are told to mute (their audio
// becomes muted) and the bridge drops their audio, not the moderator's.
// One of them unmuting asks the focus (lib-jitsi-meet does, for a track
// the focus muted) and is refused; the bridge keeps dropping its audio.
// The moderator approves another, who then unmutes: the focus agrees and
// the bridge forwards its audio again. A page joining while moderation is
// on is force-muted at the bridge from the start and told so in its
// session-initiate (<startmuted audio='true'/>).
func TestAVModeration(t *testing.T) {
	d, ctx := jitsiDeploy(t, clustertest.Options{})
	pages := d.open(ctx, t, "page", 4)
	room := "avmoderation"
	ids := d.join(ctx, t, room, pages[:3])
	awaitFullMesh(ctx, t, pages[:3], ids)
	mod, approved, refused, newcomer := pages[0], pages[1], pages[2], pages[3]
	awaitModerator(ctx, t, mod)
	var supported bool
	do(ctx, t, mod, &supported, "isAVModerationSupported")
	if !supported {
		t.Fatalf("%s: lib-jitsi-meet finds no AV moderation component", mod.Name)
	}
	awaitForceMute(ctx, t, d.c, map[string]bool{ids[0]: false, ids[1]: false, ids[2]: false})

	do(ctx, t, mod, nil, "enableAVModeration", "audio")
	for _, p := range pages[:3] {
		if _, err := p.Await(ctx, "audio moderation on", func(e jitsimeet.Event) bool {
			return e.Type == jitsimeet.AVModerationChanged && e.Media == "audio" && e.Detail == "enabled"
		}); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []*jitsimeet.Page{approved, refused} {
		if _, err := p.Await(ctx, "its audio muted by the focus", localMuted("audio", true)); err != nil {
			t.Fatal(err)
		}
		if _, err := mod.Await(ctx, "audio of "+p.Name+" muted", remoteMuted(p.ID(), "audio", true)); err != nil {
			t.Fatal(err)
		}
	}
	awaitForceMute(ctx, t, d.c, map[string]bool{ids[0]: false, ids[1]: true, ids[2]: true})
	var modMuted bool
	do(ctx, t, mod, &modMuted, "localMuted", "audio")
	if modMuted {
		t.Errorf("%s: the moderator who enabled moderation was muted", mod.Name)
	}

	// Unmuting without approval: lib-jitsi-meet asks the focus, which
	// refuses. (Jitsi Meet's UI would not even try; the library unmutes
	// the local track anyway, and the bridge keeps dropping it.)
	mark := refused.Mark()
	var res struct {
		MutedByFocus bool `json:"mutedByFocus"`
	}
	do(ctx, t, refused, &res, "unmuteLocal", "audio")
	if !res.MutedByFocus {
		t.Errorf("%s: lib-jitsi-meet did not take its audio as muted by the focus", refused.Name)
	}
	_, answer := awaitMuteAnswer(ctx, t, refused, mark, "audio", "false")
	if !strings.Contains(answer.Detail, `type="error"`) || !strings.Contains(answer.Detail, "not-allowed") {
		t.Errorf("%s: unmuting under moderation answered %s, want a not-allowed error", refused.Name, answer.Detail)
	}
	t.Logf("%s: self-unmute under moderation refused: %s", refused.Name, answer.Detail)
	// What lib-jitsi-meet does with the refusal: it logs it and keeps its
	// track unmuted (the others see it unmuted in presence), as with
	// Jicofo's refusal; the bridge's force-mute is what keeps it silent.
	var stillMuted bool
	do(ctx, t, refused, &stillMuted, "localMuted", "audio")
	t.Logf("participant-visible: after the refusal %s's own audio track is muted=%v; the bridge keeps dropping it", refused.Name, stillMuted)

	// Approval, then unmute.
	do(ctx, t, mod, nil, "avModerationApprove", "audio", ids[1])
	if _, err := approved.Await(ctx, "approval to unmute", func(e jitsimeet.Event) bool {
		return e.Type == jitsimeet.AVModerationApproved && e.Media == "audio"
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := mod.Await(ctx, "approval of "+ids[1], func(e jitsimeet.Event) bool {
		return e.Type == jitsimeet.AVParticipantApproved && e.Media == "audio" && e.Participant == ids[1]
	}); err != nil {
		t.Fatal(err)
	}
	mark = approved.Mark()
	do(ctx, t, approved, &res, "unmuteLocal", "audio")
	_, answer = awaitMuteAnswer(ctx, t, approved, mark, "audio", "false")
	if !strings.Contains(answer.Detail, `type="result"`) {
		t.Errorf("%s: unmuting after approval answered %s, want a result", approved.Name, answer.Detail)
	}
	if _, err := mod.Await(ctx, ids[1]+"'s audio unmuted", remoteMuted(ids[1], "audio", false)); err != nil {
		t.Fatal(err)
	}
	awaitForceMute(ctx, t, d.c, map[string]bool{ids[0]: false, ids[1]: false, ids[2]: true})

	// A newcomer while moderation is on.
	if err := newcomer.Join(ctx, jitsimeet.ConfigFor(d.c.Prosody, room)); err != nil {
		t.Fatal(err)
	}
	joined, err := newcomer.AwaitJoined(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newcomer.Await(ctx, "audio moderation on", func(e jitsimeet.Event) bool {
		return e.Type == jitsimeet.AVModerationChanged && e.Media == "audio" && e.Detail == "enabled"
	}); err != nil {
		t.Fatal(err)
	}
	startMuted(ctx, t, newcomer)
	awaitForceMute(ctx, t, d.c, map[string]bool{ids[0]: false, ids[1]: false, ids[2]: true, joined.Participant: true})
	if _, err := newcomer.AwaitRemoteTracks(ctx, ids...); err != nil {
		t.Fatal(err)
	}
	noFailures(t, pages)
	prosodyErrors(t, d.c.Prosody)
}

// Bad input from a real client: a participant sends the focus, through
// the room, a json-message dressed as the av_moderation component's,
// switching moderation on. The focus refuses it (not-allowed) and nothing
// changes: nobody is told to mute, the bridge drops nobody's audio.
func TestForgedAVModerationFromAPageIsRefused(t *testing.T) {
	d, ctx := jitsiDeploy(t, clustertest.Options{})
	pages := d.open(ctx, t, "page", 3)
	room := "forged"
	ids := d.join(ctx, t, room, pages)
	awaitFullMesh(ctx, t, pages, ids)
	awaitModerator(ctx, t, pages[0])
	forger := pages[2]
	roomJID := d.c.Room(room)
	body := fmt.Sprintf(`{"type":"av_moderation","enabled":true,"mediaType":"audio","room":%q,"actor":%q}`, roomJID, roomJID+"/"+ids[2])
	marks := make([]int, len(pages))
	for i, p := range pages {
		marks[i] = p.Mark()
	}
	do(ctx, t, forger, nil, "sendRaw", fmt.Sprintf(`<message xmlns="jabber:client" to="%s/focus" type="chat" id="forged1"><json-message xmlns="http://jitsi.org/jitmeet">%s</json-message></message>`, roomJID, body))
	refusal, err := forger.AwaitAfter(ctx, marks[2], "the focus's refusal", func(e jitsimeet.Event) bool {
		return e.Type == jitsimeet.Stanza && e.Dir == "in" && strings.HasPrefix(e.Detail, "<message") && strings.Contains(e.Detail, `type="error"`)
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(refusal.Detail, "not-allowed") {
		t.Errorf("%s: forged moderation answered %s, want not-allowed", forger.Name, refusal.Detail)
	}
	t.Logf("%s: forged moderation refused: %s", forger.Name, refusal.Detail)
	awaitForceMute(ctx, t, d.c, map[string]bool{ids[0]: false, ids[1]: false, ids[2]: false})
	for i, p := range pages {
		for _, e := range p.Events()[marks[i]:] {
			if isMuteStanza(e, "in", "audio", "true") || localMuted("audio", true)(e) || e.Type == jitsimeet.AVModerationChanged {
				t.Errorf("%s after the forged message: %s", p.Name, e)
			}
		}
	}
	noFailures(t, pages)
}

// startMuted checks that p's session-initiate tells it to start with its
// audio muted. lib-jitsi-meet 01daa07c does not read <startmuted/> (Jitsi
// Meet's UI mutes the newcomer on AV_MODERATION_CHANGED); what the focus
// says is checked, and the bridge's force-mute is what enforces it.
func startMuted(ctx context.Context, t *testing.T, p *jitsimeet.Page) {
	t.Helper()
	si, err := p.Await(ctx, "its session-initiate", func(e jitsimeet.Event) bool {
		return e.Type == jitsimeet.Stanza && e.Dir == "in" && strings.Contains(e.Detail, `action="session-initiate"`)
	})
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(si.Detail, "<startmuted")
	if i < 0 || !strings.Contains(si.Detail[i:min(len(si.Detail), i+120)], `audio="true"`) {
		t.Errorf("%s: session-initiate without <startmuted audio='true'/>: %.400s", p.Name, si.Detail)
	}
}

// breakoutRoom is one room of the breakout rooms' list.
type breakoutRoom struct {
	ID           string `json:"id"`
	JID          string `json:"jid"`
	Name         string `json:"name"`
	IsMainRoom   bool   `json:"isMainRoom"`
	Participants map[string]struct {
		JID  string `json:"jid"`
		Role string `json:"role"`
	} `json:"participants"`
}

// awaitRooms waits on p for a breakout rooms' list that ok accepts.
func awaitRooms(ctx context.Context, t *testing.T, p *jitsimeet.Page, what string, ok func(map[string]breakoutRoom) bool) map[string]breakoutRoom {
	t.Helper()
	var rooms map[string]breakoutRoom
	if _, err := p.Await(ctx, what, func(e jitsimeet.Event) bool {
		if e.Type != jitsimeet.BreakoutRoomsUpdated {
			return false
		}
		var r map[string]breakoutRoom
		if json.Unmarshal([]byte(e.Detail), &r) != nil {
			return false
		}
		if ok(r) {
			rooms = r
			return true
		}
		return false
	}); err != nil {
		t.Fatal(err)
	}
	return rooms
}

// moved waits until p, told to move after mark, has left its room and
// joined roomJID, and returns its CONFERENCE_JOINED there.
func moved(ctx context.Context, t *testing.T, p *jitsimeet.Page, mark int, roomJID string) jitsimeet.Event {
	t.Helper()
	if _, err := p.AwaitAfter(ctx, mark, "move to "+roomJID, func(e jitsimeet.Event) bool {
		return e.Type == jitsimeet.BreakoutRoomsMoveToRoom && e.Detail == roomJID
	}); err != nil {
		t.Fatal(err)
	}
	joined, err := p.AwaitAfter(ctx, mark, "CONFERENCE_JOINED in "+roomJID, func(e jitsimeet.Event) bool {
		return e.Type == jitsimeet.ConferenceJoined && e.Room == roomJID
	})
	if err != nil {
		t.Fatal(err)
	}
	return joined
}

// awaitTracksAfter waits until p has, after its event from, a remote audio
// and video track of each of ids.
func awaitTracksAfter(ctx context.Context, t *testing.T, p *jitsimeet.Page, from int, ids ...string) {
	t.Helper()
	tracks := map[string]map[string]bool{}
	if _, err := p.AwaitAfter(ctx, from, fmt.Sprintf("remote audio and video of %v", ids), func(e jitsimeet.Event) bool {
		if e.Type == jitsimeet.TrackAdded {
			if tracks[e.Participant] == nil {
				tracks[e.Participant] = map[string]bool{}
			}
			tracks[e.Participant][e.Media] = true
		}
		for _, id := range ids {
			if !tracks[id]["audio"] || !tracks[id]["video"] {
				return false
			}
		}
		return true
	}); err != nil {
		t.Fatalf("%v; tracks since: %v", err, tracks)
	}
}

// 3. Breakout rooms: the moderator creates one and sends two pages there.
// Each leaves the main room and joins the breakout room with a new
// conference on its connection, as Jitsi Meet does; the focus takes their
// conference requests for the breakout MUC and puts them in session with
// each other. The moderator then sends them back to the main room, where
// all three are in session again. No connection fails on the way.
func TestBreakoutRooms(t *testing.T) {
	d, ctx := jitsiDeploy(t, clustertest.Options{})
	pages := d.open(ctx, t, "page", 3)
	room := "breakout"
	ids := d.join(ctx, t, room, pages)
	awaitFullMesh(ctx, t, pages, ids)
	mod, movers := pages[0], pages[1:]
	awaitModerator(ctx, t, mod)
	var supported bool
	do(ctx, t, mod, &supported, "breakoutSupported")
	if !supported {
		t.Fatalf("%s: lib-jitsi-meet finds no breakout rooms component", mod.Name)
	}
	var mainJID string
	do(ctx, t, mod, &mainJID, "roomJID")

	do(ctx, t, mod, nil, "createBreakoutRoom", "Room A")
	rooms := awaitRooms(ctx, t, mod, "a breakout room", func(r map[string]breakoutRoom) bool {
		return slices.ContainsFunc(slices.Collect(maps.Values(r)), func(b breakoutRoom) bool { return !b.IsMainRoom })
	})
	// Jitsi Meet sends the participant's own (connection) JID, which it
	// takes from the list (breakout-rooms/actions _findParticipantJid).
	jidOf := map[string]string{}
	for _, r := range rooms {
		for nick, p := range r.Participants {
			jidOf[nick[strings.LastIndex(nick, "/")+1:]] = p.JID
		}
	}
	var breakoutJID string
	for _, r := range rooms {
		if !r.IsMainRoom {
			breakoutJID = r.JID
		}
	}
	t.Logf("breakout room %s (main %s)", breakoutJID, mainJID)

	marks := make([]int, len(movers))
	sent := time.Now()
	for i, p := range movers {
		marks[i] = p.Mark()
		if jidOf[ids[i+1]] == "" {
			t.Fatalf("%s is not in the breakout rooms' list: %v", ids[i+1], rooms)
		}
		do(ctx, t, mod, nil, "sendJIDToRoom", jidOf[ids[i+1]], breakoutJID)
	}
	inBreakout := make([]string, len(movers))
	joinedAt := make([]jitsimeet.Event, len(movers))
	for i, p := range movers {
		joinedAt[i] = moved(ctx, t, p, marks[i], breakoutJID)
		inBreakout[i] = joinedAt[i].Participant
		t.Logf("%s: in the breakout room as %s %v after it was sent", p.Name, inBreakout[i], joinedAt[i].At.Sub(sent).Round(time.Millisecond))
	}
	for i, p := range movers {
		awaitTracksAfter(ctx, t, p, joinedAt[i].Seq, inBreakout[1-i])
	}
	for _, id := range ids[1:] {
		if _, err := mod.Await(ctx, id+" left the main room", func(e jitsimeet.Event) bool {
			return e.Type == jitsimeet.UserLeft && e.Participant == id
		}); err != nil {
			t.Fatal(err)
		}
	}

	// Back to the main room, by the JIDs the breakout rooms' list gives.
	sendBack(ctx, t, mod, movers, ids[0], breakoutJID, mainJID)
	noFailures(t, pages)
	for _, p := range pages {
		for _, e := range p.Events() {
			if e.Type == jitsimeet.ConnectionFailed || e.Type == "CONNECTION_DISCONNECTED" {
				t.Errorf("%s: %s", p.Name, e)
			}
		}
	}
	prosodyErrors(t, d.c.Prosody)
}

// Everyone goes to a breakout room, the moderator last, by their own
// choice (Jitsi Meet's "join" button): the main room is left with nobody
// but the focus, each leaving with the status switch_room, and the focus
// keeps its conference. Then each comes back by itself ("leave breakout
// room") and they are in session again in the main room.
func TestEveryoneToABreakoutRoomAndBack(t *testing.T) {
	d, ctx := jitsiDeploy(t, clustertest.Options{})
	pages := d.open(ctx, t, "page", 2)
	room := "everyone"
	ids := d.join(ctx, t, room, pages)
	awaitFullMesh(ctx, t, pages, ids)
	mod, other := pages[0], pages[1]
	awaitModerator(ctx, t, mod)
	var mainJID string
	do(ctx, t, mod, &mainJID, "roomJID")
	do(ctx, t, mod, nil, "createBreakoutRoom", "Everyone")
	rooms := awaitRooms(ctx, t, mod, "a breakout room", func(r map[string]breakoutRoom) bool {
		return slices.ContainsFunc(slices.Collect(maps.Values(r)), func(b breakoutRoom) bool { return !b.IsMainRoom })
	})
	var breakoutJID string
	for _, r := range rooms {
		if !r.IsMainRoom {
			breakoutJID = r.JID
		}
	}

	there := make([]jitsimeet.Event, len(pages))
	for i, p := range []*jitsimeet.Page{other, mod} {
		mark := p.Mark()
		do(ctx, t, p, nil, "moveToRoom", breakoutJID)
		ev, err := p.AwaitAfter(ctx, mark, "CONFERENCE_JOINED in "+breakoutJID, func(e jitsimeet.Event) bool {
			return e.Type == jitsimeet.ConferenceJoined && e.Room == breakoutJID
		})
		if err != nil {
			t.Fatal(err)
		}
		there[i] = ev
	}
	awaitTracksAfter(ctx, t, other, there[0].Seq, there[1].Participant)
	awaitTracksAfter(ctx, t, mod, there[1].Seq, there[0].Participant)

	// The main room's conference is still there, with nobody in it.
	main := awaitConference(ctx, t, d.c, mainJID, func(s conference.Snapshot) bool { return len(s.Participants) == 0 })
	t.Logf("main room kept while everyone is in the breakout room: %s joined=%v participants=%d", main.Room, main.Joined, len(main.Participants))

	back := make([]jitsimeet.Event, len(pages))
	for i, p := range []*jitsimeet.Page{other, mod} {
		mark := p.Mark()
		do(ctx, t, p, nil, "moveToRoom", mainJID)
		ev, err := p.AwaitAfter(ctx, mark, "CONFERENCE_JOINED in "+mainJID, func(e jitsimeet.Event) bool {
			return e.Type == jitsimeet.ConferenceJoined && e.Room == mainJID
		})
		if err != nil {
			t.Fatal(err)
		}
		back[i] = ev
	}
	awaitTracksAfter(ctx, t, other, back[0].Seq, back[1].Participant)
	awaitTracksAfter(ctx, t, mod, back[1].Seq, back[0].Participant)
	noFailures(t, pages)
	prosodyErrors(t, d.c.Prosody)
}

// awaitConference waits until node 0 lists the conference of roomJID in a
// state ok accepts, and returns it.
func awaitConference(ctx context.Context, t *testing.T, c *clustertest.Cluster, roomJID string, ok func(conference.Snapshot) bool) conference.Snapshot {
	t.Helper()
	tick := time.NewTicker(bridgePoll)
	defer tick.Stop()
	var last []conference.Snapshot
	for {
		confs, err := c.Node(0).Conferences(ctx)
		if err != nil {
			t.Fatal(err)
		}
		last = confs
		for _, s := range confs {
			if strings.EqualFold(s.Room, roomJID) && ok(s) {
				return s
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("conference %s not as expected; conferences: %+v", roomJID, last)
		}
	}
}

// 4. Lobby: the moderator enables it; a new page finds the room
// members-only and knocks, as Jitsi Meet does; the moderator approves it,
// and it joins with a Jingle session and the others' tracks.
func TestLobbyKnockAndApprove(t *testing.T) {
	d, ctx := jitsiDeploy(t, clustertest.Options{})
	pages := d.open(ctx, t, "page", 3)
	room := "lobby"
	ids := d.join(ctx, t, room, pages[:2])
	awaitFullMesh(ctx, t, pages[:2], ids)
	mod, knocker := pages[0], pages[2]
	awaitModerator(ctx, t, mod)

	do(ctx, t, mod, nil, "enableLobby")
	if _, err := mod.Await(ctx, "members-only on", func(e jitsimeet.Event) bool {
		return e.Type == jitsimeet.MembersOnlyChanged && e.Detail == "enabled"
	}); err != nil {
		t.Fatal(err)
	}
	cfg := jitsimeet.ConfigFor(d.c.Prosody, room)
	cfg.Knock = "knocker"
	_, knock, joined := knockAndApprove(ctx, t, knocker, mod, cfg)
	t.Logf("%s: knocked %v after join(), in the conference %v after it", knocker.Name, knock.Since().Round(time.Millisecond), joined.At.Sub(knock.At).Round(time.Millisecond))
	awaitTracksAfter(ctx, t, knocker, joined.Seq, ids...)
	for _, p := range pages[:2] {
		if _, err := p.AwaitRemoteTracks(ctx, joined.Participant); err != nil {
			t.Fatal(err)
		}
	}
	noFailures(t, pages[:2])
	for _, e := range knocker.Failures() {
		if e.Seq < knock.Seq && e.Type == jitsimeet.ConferenceFailed && strings.Contains(e.Detail, "membersOnly") {
			continue // the refusal that makes Jitsi Meet knock
		}
		t.Errorf("%s: %s", knocker.Name, e)
	}
	prosodyErrors(t, d.c.Prosody)
}

// 5. AV moderation across a SIGKILL of the node that drives the
// conference, in a three-node cluster: after the failover, a page that
// unmutes without approval is still refused and a newcomer still starts
// force-muted at the bridge.
func TestAVModerationSurvivesOwnerKill(t *testing.T) {
	d, ctx := jitsiDeploy(t, clustertest.Options{Nodes: 3})
	c := d.c
	room, victimName := failoverRoom(ctx, t, c, "avfailover")

	pages := d.open(ctx, t, "page", 4)
	ids := d.join(ctx, t, room, pages[:3])
	awaitFullMesh(ctx, t, pages[:3], ids)
	mod, refused, newcomer := pages[0], pages[2], pages[3]
	awaitModerator(ctx, t, mod)
	do(ctx, t, mod, nil, "enableAVModeration", "audio")
	for _, p := range pages[1:3] {
		if _, err := p.Await(ctx, "its audio muted by the focus", localMuted("audio", true)); err != nil {
			t.Fatal(err)
		}
	}
	awaitForceMute(ctx, t, c, map[string]bool{ids[0]: false, ids[1]: true, ids[2]: true})

	victim := ownerOf(ctx, t, c, c.Room(room))
	if victim.Name() != victimName {
		t.Fatalf("%s is driven by %s, not by its shard's owner %s", room, victim.Name(), victimName)
	}
	killed := time.Now()
	if err := victim.Kill(); err != nil {
		t.Fatal(err)
	}
	heir := awaitNewOwner(ctx, t, c, c.Room(room), victim)
	t.Logf("%s killed; %s drives %s %v later", victim.Name(), heir.Name(), room, time.Since(killed).Round(time.Millisecond))

	// Unmute without approval, after the failover.
	mark := refused.Mark()
	do(ctx, t, refused, nil, "unmuteLocal", "audio")
	_, answer := awaitMuteAnswer(ctx, t, refused, mark, "audio", "false")
	if !strings.Contains(answer.Detail, `type="error"`) || !strings.Contains(answer.Detail, "not-allowed") {
		t.Errorf("%s: unmuting under moderation after the failover answered %s, want a not-allowed error", refused.Name, answer.Detail)
	}
	t.Logf("%s: self-unmute after the failover: %s", refused.Name, answer.Detail)

	// A newcomer after the failover.
	if err := newcomer.Join(ctx, jitsimeet.ConfigFor(c.Prosody, room)); err != nil {
		t.Fatal(err)
	}
	joined, err := newcomer.AwaitJoined(ctx)
	if err != nil {
		t.Fatal(err)
	}
	startMuted(ctx, t, newcomer)
	awaitForceMute(ctx, t, c, map[string]bool{ids[0]: false, ids[1]: true, ids[2]: true, joined.Participant: true})
	if _, err := newcomer.AwaitRemoteTracks(ctx, ids...); err != nil {
		t.Fatal(err)
	}
	noFailures(t, pages)
}

// Breakout rooms across a SIGKILL, in a three-node cluster: two pages
// are in a breakout room when the node driving its conference is killed.
// They stay in session there (no new CONFERENCE_JOINED, no failure), and
// the moderator then brings them back to the main room, where all three
// are in session.
func TestBreakoutRoomSurvivesOwnerKill(t *testing.T) {
	d, ctx := jitsiDeploy(t, clustertest.Options{Nodes: 3})
	c := d.c
	pages := d.open(ctx, t, "page", 3)
	ids := d.join(ctx, t, "breakoutfailover", pages)
	awaitFullMesh(ctx, t, pages, ids)
	mod, movers := pages[0], pages[1:]
	awaitModerator(ctx, t, mod)
	var mainJID string
	do(ctx, t, mod, &mainJID, "roomJID")
	do(ctx, t, mod, nil, "createBreakoutRoom", "Room A")
	rooms := awaitRooms(ctx, t, mod, "a breakout room", func(r map[string]breakoutRoom) bool {
		return slices.ContainsFunc(slices.Collect(maps.Values(r)), func(b breakoutRoom) bool { return !b.IsMainRoom })
	})
	var breakoutJID string
	jidOf := map[string]string{}
	for _, r := range rooms {
		if !r.IsMainRoom {
			breakoutJID = r.JID
		}
		for nick, p := range r.Participants {
			jidOf[nick[strings.LastIndex(nick, "/")+1:]] = p.JID
		}
	}
	marks := make([]int, len(movers))
	for i, p := range movers {
		marks[i] = p.Mark()
		do(ctx, t, mod, nil, "sendJIDToRoom", jidOf[ids[i+1]], breakoutJID)
	}
	joined := make([]jitsimeet.Event, len(movers))
	for i, p := range movers {
		joined[i] = moved(ctx, t, p, marks[i], breakoutJID)
	}
	for i, p := range movers {
		awaitTracksAfter(ctx, t, p, joined[i].Seq, joined[1-i].Participant)
	}

	victim := ownerOf(ctx, t, c, breakoutJID)
	mainOwner := ownerOf(ctx, t, c, mainJID)
	holder, err := c.ComponentHolder(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("breakout room driven by %s, main room by %s, component held by %s", victim.Name(), mainOwner.Name(), holder.Name())
	for i, p := range movers {
		marks[i] = p.Mark()
	}
	killed := time.Now()
	if err := victim.Kill(); err != nil {
		t.Fatal(err)
	}
	heir := awaitNewOwner(ctx, t, c, breakoutJID, victim)
	t.Logf("%s killed; %s drives the breakout room %v later", victim.Name(), heir.Name(), time.Since(killed).Round(time.Millisecond))
	if _, err := c.ComponentHolder(ctx); err != nil {
		t.Fatal(err)
	}
	if victim == mainOwner {
		awaitNewOwner(ctx, t, c, mainJID, victim)
	}
	for i, p := range movers {
		for _, e := range p.Events()[marks[i]:] {
			if e.Type == jitsimeet.ConferenceJoined || e.Type == jitsimeet.ConferenceLeft || e.Type == jitsimeet.Kicked {
				t.Errorf("%s in the breakout room after the kill: %s", p.Name, e)
			}
		}
	}

	// Back to the main room.
	sendBack(ctx, t, mod, movers, ids[0], breakoutJID, mainJID)
	noFailures(t, pages)
}

// The lobby across a SIGKILL of the node driving the conference, in a
// three-node cluster: the lobby is on, the owner node is killed, then a
// page knocks, is approved and gets a session from the node that took
// over.
func TestLobbySurvivesOwnerKill(t *testing.T) {
	d, ctx := jitsiDeploy(t, clustertest.Options{Nodes: 3})
	c := d.c
	room, victimName := failoverRoom(ctx, t, c, "lobbyfailover")
	pages := d.open(ctx, t, "page", 3)
	ids := d.join(ctx, t, room, pages[:2])
	awaitFullMesh(ctx, t, pages[:2], ids)
	mod, knocker := pages[0], pages[2]
	awaitModerator(ctx, t, mod)
	do(ctx, t, mod, nil, "enableLobby")
	if _, err := mod.Await(ctx, "members-only on", func(e jitsimeet.Event) bool {
		return e.Type == jitsimeet.MembersOnlyChanged && e.Detail == "enabled"
	}); err != nil {
		t.Fatal(err)
	}

	victim := ownerOf(ctx, t, c, c.Room(room))
	if victim.Name() != victimName {
		t.Fatalf("%s is driven by %s, not by its shard's owner %s", room, victim.Name(), victimName)
	}
	killed := time.Now()
	if err := victim.Kill(); err != nil {
		t.Fatal(err)
	}
	heir := awaitNewOwner(ctx, t, c, c.Room(room), victim)
	t.Logf("%s killed; %s drives %s %v later", victim.Name(), heir.Name(), room, time.Since(killed).Round(time.Millisecond))

	cfg := jitsimeet.ConfigFor(c.Prosody, room)
	cfg.Knock = "knocker"
	refusal, _, joined := knockAndApprove(ctx, t, knocker, mod, cfg)
	awaitTracksAfter(ctx, t, knocker, joined.Seq, ids...)
	for _, p := range pages[:2] {
		if _, err := p.AwaitRemoteTracks(ctx, joined.Participant); err != nil {
			t.Fatal(err)
		}
	}
	noFailures(t, pages[:2])
	for _, e := range knocker.Failures() {
		if e.Seq == refusal.Seq {
			continue // the refusal that makes Jitsi Meet knock
		}
		t.Errorf("%s: %s", knocker.Name, e)
	}
}

// failoverRoom names a room (prefix and a number) whose shard a node
// other than the focus component's holder owns, and that node: killing it
// leaves the component held (see failover_test.go).
func failoverRoom(ctx context.Context, t *testing.T, c *clustertest.Cluster, prefix string) (room, owner string) {
	t.Helper()
	holder, err := c.ComponentHolder(ctx)
	if err != nil {
		t.Fatal(err)
	}
	view, err := holder.Cluster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var members []cluster.Member
	for _, m := range view.Members {
		members = append(members, cluster.Member{Name: m.Name})
		if m.Name != holder.Name() {
			owner = m.Name
		}
	}
	return roomOwnedBy(c, prefix, owner, members), owner
}

// Moderator mute across a SIGKILL of the node driving the conference, in
// a three-node cluster: a page the moderator muted before the kill
// unmutes itself after it (no moderation: the node that took over
// agrees), and the moderator mutes it again, the page being told by the
// new owner with the moderator as actor.
func TestModeratorMuteAfterOwnerKill(t *testing.T) {
	d, ctx := jitsiDeploy(t, clustertest.Options{Nodes: 3})
	c := d.c
	room, victimName := failoverRoom(ctx, t, c, "mutefailover")
	pages := d.open(ctx, t, "page", 2)
	ids := d.join(ctx, t, room, pages)
	awaitFullMesh(ctx, t, pages, ids)
	mod, target := pages[0], pages[1]
	awaitModerator(ctx, t, mod)
	do(ctx, t, mod, nil, "muteParticipant", ids[1], "audio")
	if _, err := target.Await(ctx, "its audio muted by the moderator", localMuted("audio", true)); err != nil {
		t.Fatal(err)
	}

	victim := ownerOf(ctx, t, c, c.Room(room))
	if victim.Name() != victimName {
		t.Fatalf("%s is driven by %s, not by its shard's owner %s", room, victim.Name(), victimName)
	}
	killed := time.Now()
	if err := victim.Kill(); err != nil {
		t.Fatal(err)
	}
	heir := awaitNewOwner(ctx, t, c, c.Room(room), victim)
	t.Logf("%s killed; %s drives %s %v later", victim.Name(), heir.Name(), room, time.Since(killed).Round(time.Millisecond))

	mark := target.Mark()
	var res struct {
		MutedByFocus bool `json:"mutedByFocus"`
	}
	do(ctx, t, target, &res, "unmuteLocal", "audio")
	if !res.MutedByFocus {
		t.Errorf("%s: lib-jitsi-meet did not take its audio as muted by the focus", target.Name)
	}
	_, answer := awaitMuteAnswer(ctx, t, target, mark, "audio", "false")
	if !strings.Contains(answer.Detail, `type="result"`) {
		t.Errorf("%s: unmuting itself after the failover answered %s, want a result", target.Name, answer.Detail)
	}
	if _, err := mod.AwaitAfter(ctx, 0, ids[1]+"'s audio unmuted", remoteMuted(ids[1], "audio", false)); err != nil {
		t.Fatal(err)
	}

	mark = target.Mark()
	do(ctx, t, mod, nil, "muteParticipant", ids[1], "audio")
	if _, err := target.AwaitAfter(ctx, mark, "its audio muted again", localMuted("audio", true)); err != nil {
		t.Fatal(err)
	}
	notice, err := target.AwaitAfter(ctx, mark, "the new owner's mute IQ", func(e jitsimeet.Event) bool { return isMuteStanza(e, "in", "audio", "true") })
	if err != nil {
		t.Fatal(err)
	}
	if actor := attr(notice.Detail, "actor"); actor != c.Room(room)+"/"+ids[0] {
		t.Errorf("%s: mute IQ actor %q after the failover, want %s", target.Name, actor, c.Room(room)+"/"+ids[0])
	}
	noFailures(t, pages)
}

// ownerOf is the node that drives the room roomJID.
func ownerOf(ctx context.Context, t *testing.T, c *clustertest.Cluster, roomJID string) *clustertest.Node {
	t.Helper()
	for _, n := range c.Running() {
		rooms, err := n.OwnRooms(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(rooms, func(r string) bool { return strings.EqualFold(r, roomJID) }) {
			return n
		}
	}
	t.Fatalf("no node drives %s", roomJID)
	return nil
}

// awaitNewOwner waits until a node other than old drives roomJID.
func awaitNewOwner(ctx context.Context, t *testing.T, c *clustertest.Cluster, roomJID string, old *clustertest.Node) *clustertest.Node {
	t.Helper()
	tick := time.NewTicker(bridgePoll)
	defer tick.Stop()
	for {
		for _, n := range c.Running() {
			if n == old {
				continue
			}
			rooms, err := n.OwnRooms(ctx)
			if err != nil {
				continue // a node busy taking over may not answer at once
			}
			if slices.ContainsFunc(rooms, func(r string) bool { return strings.EqualFold(r, roomJID) }) {
				return n
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("no node took over %s", roomJID)
		}
	}
}

// sendBack has the moderator send the movers, in the breakout room
// breakoutJID, back to the main room by the JIDs the breakout rooms' list
// gives (as Jitsi Meet does), and waits until each is in session there
// with the moderator (modID) and the other mover.
func sendBack(ctx context.Context, t *testing.T, mod *jitsimeet.Page, movers []*jitsimeet.Page, modID, breakoutJID, mainJID string) {
	t.Helper()
	rooms := awaitRooms(ctx, t, mod, "both in the breakout room", func(r map[string]breakoutRoom) bool {
		for _, b := range r {
			if b.JID == breakoutJID {
				return len(b.Participants) == len(movers)
			}
		}
		return false
	})
	var jids []string
	for _, b := range rooms {
		if b.JID == breakoutJID {
			for _, p := range b.Participants {
				jids = append(jids, p.JID)
			}
		}
	}
	modMark := mod.Mark()
	marks := make([]int, len(movers))
	for i, p := range movers {
		marks[i] = p.Mark()
	}
	for _, jid := range jids {
		do(ctx, t, mod, nil, "sendJIDToRoom", jid, mainJID)
	}
	back := make([]string, len(movers))
	joined := make([]jitsimeet.Event, len(movers))
	for i, p := range movers {
		joined[i] = moved(ctx, t, p, marks[i], mainJID)
		back[i] = joined[i].Participant
	}
	for i, p := range movers {
		awaitTracksAfter(ctx, t, p, joined[i].Seq, modID, back[1-i])
	}
	awaitTracksAfter(ctx, t, mod, modMark, back...)
}

// knockAndApprove has knocker join the members-only room of cfg (as
// Jitsi Meet does: refused, then knocking) and the moderator approve it;
// it returns the refusal, the knock and the knocker's CONFERENCE_JOINED.
func knockAndApprove(ctx context.Context, t *testing.T, knocker, mod *jitsimeet.Page, cfg jitsimeet.Config) (refusal, knock, joined jitsimeet.Event) {
	t.Helper()
	if err := knocker.Join(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	refusal, err := knocker.Await(ctx, "the members-only refusal", func(e jitsimeet.Event) bool {
		return e.Type == jitsimeet.ConferenceFailed && strings.Contains(e.Detail, "membersOnly")
	})
	if err != nil {
		t.Fatal(err)
	}
	knock, err = knocker.AwaitAfter(ctx, refusal.Seq+1, "the knock", func(e jitsimeet.Event) bool { return e.Type == jitsimeet.LobbyKnock })
	if err != nil {
		t.Fatal(err)
	}
	waiting, err := mod.Await(ctx, "a knock", func(e jitsimeet.Event) bool { return e.Type == jitsimeet.LobbyUserJoined })
	if err != nil {
		t.Fatal(err)
	}
	do(ctx, t, mod, nil, "lobbyApproveAccess", waiting.Participant)
	joined, err = knocker.AwaitAfter(ctx, knock.Seq+1, "CONFERENCE_JOINED after approval", func(e jitsimeet.Event) bool {
		return e.Type == jitsimeet.ConferenceJoined
	})
	if err != nil {
		t.Fatal(err)
	}
	return refusal, knock, joined
}
