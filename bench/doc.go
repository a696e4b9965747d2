// Package bench holds Focal's load generators and simulated peers; each tool
// is a command in its own directory.
package bench
