// Package await lets an actor act once several of its requests are
// answered, without blocking its Receive.
package await

import (
	"errors"

	"github.com/asynkron/protoactor-go/actor"
)

// Barrier is answered with itself by an actor once it has handled every
// message sent to it before, and so sent on whatever that handling
// reports: a way to wait for what is in flight in an actor's mailbox.
type Barrier struct{}

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

// AllAnswered is All, telling then whether every future got its answer:
// false if one timed out. A request to an actor that is gone (a dead
// letter) counts as answered: nothing is in flight there to wait for.
func AllAnswered(futures []*actor.Future, then func(answered bool)) {
	go func() {
		answered := true
		for _, f := range futures {
			if _, err := f.Result(); err != nil && !errors.Is(err, actor.ErrDeadLetter) {
				answered = false
			}
		}
		then(answered)
	}()
}
