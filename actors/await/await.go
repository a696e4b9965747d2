// Package await lets an actor act once several of its requests are
// answered, without blocking its Receive.
package await

import "github.com/asynkron/protoactor-go/actor"

// All calls then, on a goroutine of its own, once every future has
// completed or timed out. then typically sends the actor (or a requester)
// a message, which is how the result re-enters an actor.
func All(futures []*actor.Future, then func()) {
	go func() {
		for _, f := range futures {
			_ = f.Wait()
		}
		then()
	}()
}
