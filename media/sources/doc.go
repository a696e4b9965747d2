// Package sources models the media sources endpoints signal: source sets,
// their operations and validation rules, the per-conference source map, and
// their encodings as Jingle ssma elements, Colibri2 sources and the compact
// JSON of <json-message/>.
package sources
