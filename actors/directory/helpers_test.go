package directory

import (
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"
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
