package await

import (
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// A barrier is answered only when every actor it went to answered in
// time; one that is gone counts as answered (a dead letter, at once),
// one that is slow does not.
func TestAllAnsweredOnlyWhenNoneTimedOut(t *testing.T) {
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	root := sys.Root
	answering := root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		if b, ok := ctx.Message().(*Barrier); ok {
			ctx.Respond(b)
		}
	}))
	silent := root.Spawn(actor.PropsFromFunc(func(actor.Context) {}))
	gone := root.Spawn(actor.PropsFromFunc(func(actor.Context) {}))
	if err := root.StopFuture(gone).Wait(); err != nil {
		t.Fatal(err)
	}
	ask := func(pids ...*actor.PID) bool {
		var futures []*actor.Future
		for _, pid := range pids {
			futures = append(futures, root.RequestFuture(pid, &Barrier{}, 200*time.Millisecond))
		}
		result := make(chan bool, 1)
		AllAnswered(futures, func(answered bool) { result <- answered })
		return <-result
	}
	if !ask(answering, gone) {
		t.Error("an answer and a dead letter count as not answered")
	}
	if ask(answering, silent) {
		t.Error("a timed-out request counts as answered")
	}
	if !ask() {
		t.Error("nothing to wait for counts as not answered")
	}
	root.Stop(answering)
	root.Stop(silent)
}
