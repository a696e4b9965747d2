package api

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"focal/actors/conference"
	"focal/actors/directory"
)

// Every conference is asked at once: the one that answers is shown, the
// one that does not is listed as unanswered once DebugTimeout has passed
// (not after one timeout per conference), and one that ended meanwhile
// is left out.
func TestDebugConferencesMarksTheUnanswered(t *testing.T) {
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }))
	defer system.Shutdown()
	answering := system.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(*conference.GetSnapshot); ok {
			ctx.Respond(conference.Snapshot{Room: "a@conf", MeetingID: "m1", Joined: true})
		}
	}))
	silent := make([]*actor.PID, 3)
	for i := range silent {
		silent[i] = system.Root.Spawn(actor.PropsFromFunc(func(actor.Context) {}))
	}
	ended := system.Root.Spawn(actor.PropsFromFunc(func(actor.Context) {}))
	if err := system.Root.StopFuture(ended).Wait(); err != nil {
		t.Fatal(err)
	}
	rooms := map[string]*actor.PID{"a@conf": answering, "b@conf": silent[0], "c@conf": silent[1], "d@conf": silent[2], "e@conf": ended}
	dir := system.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(*directory.ListConferences); ok {
			ctx.Respond(&directory.Conferences{Rooms: rooms})
		}
	}))
	const timeout = 300 * time.Millisecond
	h := Handler(Config{Root: system.Root, Directory: dir, RequestTimeout: 20 * time.Second, DebugTimeout: timeout})

	start := time.Now()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/conferences", nil))
	took := time.Since(start)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var got []conference.Snapshot
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("got %d conferences, want 4 (the ended one left out): %+v", len(got), got)
	}
	if got[0].Room != "a@conf" || got[0].Unanswered || got[0].MeetingID != "m1" || !got[0].Joined {
		t.Errorf("answering conference = %+v", got[0])
	}
	for i, room := range []string{"b@conf", "c@conf", "d@conf"} {
		if s := got[i+1]; s.Room != room || !s.Unanswered {
			t.Errorf("silent conference %s = %+v, want it marked unanswered", room, s)
		}
	}
	// Three silent conferences asked one after another would take three
	// timeouts.
	if took >= 3*timeout {
		t.Errorf("took %v: the conferences were not asked at once (timeout %v each)", took, timeout)
	}
}
