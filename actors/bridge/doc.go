// Package bridge holds the brewery actor, which discovers videobridges from
// their presence in the brewery room and picks one per participant, and one
// bridge actor per bridge, which keeps its stats and checks its health.
package bridge
