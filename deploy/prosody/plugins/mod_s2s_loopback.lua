-- Focal's test Prosodys talk server to server on loopback only.
--
-- Option s2s_loopback = { ["host"] = port, ... }: an outgoing s2s connection
-- to one of these hosts goes to 127.0.0.1:port, without a DNS query; one to
-- any other host is refused (it never leaves the machine).
--
-- Jitsi's mod_s2sout_override does the first half through the
-- "s2sout-pre-connect" event, which Prosody has from 0.12.4 on; Debian 12's
-- 0.12.3 lacks it. mod_s2s looks its resolver up in net.resolvers.service at
-- each new connection, so that is where this module steps in.
local basic = require "net.resolvers.basic";
local service = require "net.resolvers.service";

local peers = module:get_option("s2s_loopback", {});

-- A resolver with no target: the connection attempt fails at once and the
-- queued stanzas bounce.
local nowhere_mt = { __index = { next = function(_, cb) cb(nil); end } };

local original_new = service.new;
local function loopback_new(hostname, service_name, conn_type, extra)
	if service_name ~= "xmpp-server" and service_name ~= "xmpps-server" then
		return original_new(hostname, service_name, conn_type, extra);
	end
	local port = peers[hostname];
	if service_name == "xmpp-server" and type(port) == "number" then
		return basic.new("127.0.0.1", port, conn_type, extra);
	end
	if service_name == "xmpp-server" then
		module:log("warn", "no loopback peer for %s; s2s refused", hostname);
	end
	return setmetatable({}, nowhere_mt);
end

function module.load()
	service.new = loopback_new;
end

function module.unload()
	service.new = original_new;
end
