package main

import (
	"flag"
	"fmt"
	"sort"
	"strings"
)

// sections are the config file's nested keys: groups of settings written
// as Jicofo's config writes them, each turned into the flags they mean.
var sections = map[string]func(fs *flag.FlagSet, keys map[string]any, set map[string]bool) error{
	"auth": applyAuthSection,
}

// applyAuthSection reads Jicofo's authentication block:
//
//	auth:
//	  type: XMPP          # XMPP, JWT or NONE
//	  login-url: auth.meet.jitsi   # the domain whose users are authenticated
//	  authentication-lifetime: 24h
//	  login-page: https://login.example/{room}?uid={machine_uid}
//	  token-secret-file: /etc/focal/token-secret   # Prosody's app_secret
//
// type and login-url together are --auth_url (XMPP:<domain>,
// EXT_JWT:<domain>); "enabled: false" or type NONE turn authentication
// off. Flags given on the command line win, key by key.
func applyAuthSection(fs *flag.FlagSet, keys map[string]any, set map[string]bool) error {
	text := map[string]string{}
	for k, v := range keys {
		switch k {
		case "type", "login-url", "authentication-lifetime", "login-page", "enabled", "token-secret-file":
		default:
			return fmt.Errorf("unknown key %q (known: type, login-url, authentication-lifetime, login-page, enabled, token-secret-file)", k)
		}
		s, err := flagText(v)
		if err != nil {
			return fmt.Errorf("key %q: %w", k, err)
		}
		text[k] = s
	}
	url, err := authURL(text)
	if err != nil {
		return err
	}
	settings := []struct{ flag, value string }{
		{"auth_url", url},
		{"auth_lifetime", text["authentication-lifetime"]},
		{"login_url", text["login-page"]},
		{"auth_token_secret_file", text["token-secret-file"]},
	}
	for _, st := range settings {
		if set[st.flag] || (st.value == "" && st.flag != "auth_url") {
			continue
		}
		if err := fs.Lookup(st.flag).Value.Set(st.value); err != nil {
			return fmt.Errorf("%s: %w", st.flag, err)
		}
	}
	return nil
}

// authURL is the --auth_url that an auth section's type, login-url and
// enabled keys mean.
func authURL(text map[string]string) (string, error) {
	if enabled, ok := text["enabled"]; ok && enabled != "true" && enabled != "false" {
		return "", fmt.Errorf("key \"enabled\": %q is not true or false", enabled)
	}
	kind := strings.ToUpper(text["type"])
	if text["enabled"] == "false" || kind == "NONE" || (kind == "" && text["login-url"] == "") {
		return "", nil
	}
	if text["login-url"] == "" {
		return "", fmt.Errorf("type %s needs login-url, the domain whose users are authenticated", kind)
	}
	prefixes := map[string]string{"XMPP": "XMPP:", "JWT": "EXT_JWT:"}
	prefix, ok := prefixes[kind]
	if !ok {
		known := make([]string, 0, len(prefixes))
		for k := range prefixes {
			known = append(known, k)
		}
		sort.Strings(known)
		return "", fmt.Errorf("type %q: want NONE or one of %s", text["type"], strings.Join(known, ", "))
	}
	return prefix + text["login-url"], nil
}
