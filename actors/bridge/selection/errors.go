package selection

import (
	"errors"
	"fmt"
)

// ErrNoBridge is returned when no bridge can take the participant. Select
// wraps it with the reason.
var ErrNoBridge = errors.New("no bridge available")

// ErrVersionConflict is returned when a conference is pinned to one bridge
// version but already runs on bridges of another. It wraps ErrNoBridge.
var ErrVersionConflict = fmt.Errorf("%w: pinned version differs from the conference's bridges", ErrNoBridge)
