// Package api serves Focal's HTTP interface: conference requests (Jicofo's
// /conference-request/v1), version and health.
package api
