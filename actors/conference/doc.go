// Package conference holds the conference actor, which owns everything about
// one room, and the directory actor that maps rooms to conference actors.
package conference
