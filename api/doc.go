// Package api serves Focal's HTTP interface: conference requests (Jicofo's
// /conference-request/v1), version and health, and the debug and cluster
// views.
package api
