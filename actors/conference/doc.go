// Package conference holds the conference actor, which owns everything
// about one room: the focus in it, its members, options, bridges, sources
// and the state its replica keeps.
package conference
