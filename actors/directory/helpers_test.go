package directory

import (
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"focal/actors/conference"
)

// quietSystem is an actor system that logs nothing.
func quietSystem() *actor.ActorSystem {
	return actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }))
}

// probe spawns an actor that passes every message of type T to got, and
// answers it with answer if that is not nil.
func probe[T any](sys *actor.ActorSystem, got chan<- T, answer any) *actor.PID {
	return sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		if msg, ok := ctx.Message().(T); ok {
			got <- msg
			if answer != nil {
				ctx.Respond(answer)
			}
		}
	}))
}

// awaitStanzaID fails the test unless the next stanza on got, within 5 s,
// has the id want.
func awaitStanzaID(t *testing.T, got <-chan *conference.Stanza, want string) {
	t.Helper()
	select {
	case st := <-got:
		if id := st.El.AttrValue("id"); id != want {
			t.Fatalf("%s reached the conference, want %s", id, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%s did not reach the conference", want)
	}
}
