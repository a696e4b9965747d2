// Package selection picks the videobridge for a new conference participant: bridge load, regions and the selection strategies, with no goroutines, locks or clocks of its own.
package selection
