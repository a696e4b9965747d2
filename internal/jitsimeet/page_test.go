package jitsimeet

import "testing"

// Remote tracks are counted from the events as lib-jitsi-meet reports
// them: a track removed and added again (a new session) counts once.
func TestRemoteTracksCountAddsAndRemoves(t *testing.T) {
	events := []Event{
		{Type: TrackAdded, Participant: "a", Media: "audio"},
		{Type: TrackAdded, Participant: "a", Media: "video"},
		{Type: TrackAdded, Participant: "b", Media: "audio"},
		{Type: UserJoined, Participant: "c"},
		{Type: TrackRemoved, Participant: "a", Media: "video"},
		{Type: TrackRemoved, Participant: "b", Media: "audio"},
		{Type: TrackAdded, Participant: "a", Media: "video"},
	}
	got := remoteTracks(events)
	want := map[string]map[string]int{"a": {"audio": 1, "video": 1}, "b": {"audio": 0}}
	for id, media := range want {
		for m, n := range media {
			if got[id][m] != n {
				t.Errorf("%s %s: %d tracks, want %d (all: %v)", id, m, got[id][m], n, got)
			}
		}
	}
	if len(got) != len(want) {
		t.Errorf("participants %v, want %v", got, want)
	}
}

// Only the events by which lib-jitsi-meet gives up stop an Await.
func TestFatalEvents(t *testing.T) {
	for _, tc := range []struct {
		e     Event
		fatal bool
	}{
		{Event{Type: ConferenceFailed, Detail: "conference.iceFailed"}, true},
		{Event{Type: ConnectionFailed, Detail: "connection.conferenceRequestFailed"}, true},
		{Event{Type: HarnessError}, true},
		{Event{Type: ConferenceError, Detail: "conference.offerAnswerFailed"}, true},
		{Event{Type: ConferenceError, Detail: "conference.chatError"}, false},
		{Event{Type: PageError}, false},
		{Event{Type: IceFailed}, false},
		{Event{Type: TrackRemoved}, false},
	} {
		if got := tc.e.fatal(); got != tc.fatal {
			t.Errorf("%s: fatal %v, want %v", tc.e, got, tc.fatal)
		}
	}
}
