// Focal's test page: joins a conference with lib-jitsi-meet the way Jitsi
// Meet does (its defaults, p2p off) and reports what the library tells it to
// the Go test through the CDP binding window.focalEvent. Every report is one
// JSON object: {type, t (ms since focalJoin or focalConnect), participant,
// media, ...}.
'use strict';

(function () {
    let started = 0;
    let connection = null;
    let conference = null;
    let localTracks = [];
    let jingleWatched = false;

    function report(type, fields) {
        const ev = Object.assign({ type, t: started ? Date.now() - started : 0 }, fields || {});
        try {
            window.focalEvent(JSON.stringify(ev));
        } catch (e) {
            // The binding is missing only when the page is opened outside
            // the harness; keep the event visible there.
            console.log('focal event', ev);
        }
    }

    function describe(err) {
        if (err === undefined || err === null) {
            return '';
        }
        if (typeof err === 'string') {
            return err;
        }
        if (err.name || err.message) {
            return `${err.name || ''}: ${err.message || ''}`;
        }
        try {
            return JSON.stringify(err);
        } catch (e) {
            return String(err);
        }
    }

    // Stanzas of the focus protocols (conference request, Jingle, the
    // focus's presence) and error answers are reported too, so that a
    // failed test can show what was said on the wire.
    // Mute requests and notifications (jitmeet/audio, video, desktop) and
    // the components' json-messages (AV moderation, breakout rooms) too.
    const interesting = /http:\/\/jitsi\.org\/protocol\/focus|urn:xmpp:jingle:1|ready=|bridge-session|conference-properties|type="error"|http:\/\/jitsi\.org\/jitmeet\/(audio|video|desktop)|json-message|<av_moderation|<breakout_rooms/;

    function tapStanzas(conn) {
        const strophe = conn.xmpp && conn.xmpp.connection && conn.xmpp.connection._stropheConn;
        if (!strophe) {
            report('harness-warning', { detail: 'no strophe connection to tap' });
            return;
        }
        const input = strophe.xmlInput.bind(strophe);
        const output = strophe.xmlOutput.bind(strophe);
        strophe.xmlInput = elem => {
            inspect('in', elem);
            input(elem);
        };
        strophe.xmlOutput = elem => {
            inspect('out', elem);
            output(elem);
        };
    }

    // Ids of the mute requests sent, whose answers (an empty result
    // included) are reported too.
    const muteRequests = new Set();
    const muteNS = /http:\/\/jitsi\.org\/jitmeet\/(audio|video|desktop)/;

    function inspect(dir, elem) {
        const xml = new XMLSerializer().serializeToString(elem);
        const id = elem.nodeName === 'iq' ? elem.getAttribute('id') : null;
        if (dir === 'out' && id && muteNS.test(xml)) {
            muteRequests.add(id);
        }
        const answer = dir === 'in' && id && muteRequests.delete(id);
        if (!answer && !interesting.test(xml)) {
            return;
        }
        report('stanza', { dir, detail: xml });
        // A conference request answered: lib-jitsi-meet retries after
        // ready='false' and gives up on any error.
        if (dir === 'in' && elem.nodeName === 'iq' && elem.getAttribute('type') === 'error' && elem.getAttribute('from') === focusJID) {
            report('CONFERENCE_REQUEST_ANSWER', { detail: `error: ${elem.textContent}` });
        }
        if (dir === 'in' && elem.nodeName === 'iq') {
            const conf = elem.getElementsByTagName('conference')[0];
            if (conf && conf.namespaceURI === 'http://jitsi.org/protocol/focus') {
                report('CONFERENCE_REQUEST_ANSWER', {
                    detail: elem.getAttribute('type'),
                    ready: conf.getAttribute('ready') === 'true',
                });
            }
        }
    }

    function roomJID(conf) {
        return (conf.room && conf.room.roomjid) || '';
    }

    function watchConference(conf) {
        const ev = JitsiMeetJS.events.conference;
        // Events of a conference the page has left (a move to another
        // room) are not reported.
        const on = (name, fn) => conf.on(name, (...args) => {
            if (conf === conference) {
                fn(...args);
            }
        });
        on(ev.CONFERENCE_JOINED, () => {
            report('CONFERENCE_JOINED', { participant: conf.myUserId(), moderator: conf.isModerator(), room: roomJID(conf) });
        });
        on(ev.CONFERENCE_FAILED, (err, ...rest) => {
            report('CONFERENCE_FAILED', { detail: `${describe(err)} ${rest.map(describe).join(' ')}`.trim() });
            // Jitsi Meet knocks when the room is members-only (lobby on).
            if (err === JitsiMeetJS.errors.conference.MEMBERS_ONLY_ERROR && joinConfig.knock) {
                report('LOBBY_KNOCK');
                conf.joinLobby(joinConfig.knock).catch(e => report('HARNESS_ERROR', { detail: `joinLobby: ${describe(e)}` }));
            }
        });
        on(ev.CONFERENCE_ERROR, (err, ...rest) => report('CONFERENCE_ERROR', { detail: `${describe(err)} ${rest.map(describe).join(' ')}`.trim() }));
        on(ev.CONFERENCE_LEFT, () => report('CONFERENCE_LEFT'));
        on(ev.KICKED, () => report('KICKED'));
        on(ev.TRACK_ADDED, track => {
            if (!track.isLocal()) {
                report('TRACK_ADDED', { participant: track.getParticipantId(), media: track.getType(), detail: track.getSourceName ? track.getSourceName() : '' });
            }
        });
        on(ev.TRACK_REMOVED, track => {
            if (!track.isLocal()) {
                report('TRACK_REMOVED', { participant: track.getParticipantId(), media: track.getType(), detail: track.getSourceName ? track.getSourceName() : '' });
            }
        });
        on(ev.USER_JOINED, id => report('USER_JOINED', { participant: id }));
        on(ev.USER_LEFT, id => report('USER_LEFT', { participant: id }));
        on(ev.USER_ROLE_CHANGED, (id, role) => report('USER_ROLE_CHANGED', { participant: id, detail: role, local: id === conf.myUserId() }));
        on(ev.CONNECTION_INTERRUPTED, () => report('CONNECTION_INTERRUPTED'));
        on(ev.CONNECTION_RESTORED, () => report('CONNECTION_RESTORED'));
        on(ev.CONNECTION_ESTABLISHED, () => report('MEDIA_CONNECTION_ESTABLISHED'));
        on(ev.BRIDGE_DOWN || 'conference.bridgeDown', () => report('BRIDGE_DOWN'));
        on(ev.VIDEOBRIDGE_NOT_AVAILABLE || 'conference.videobridgeNotAvailable', () => report('VIDEOBRIDGE_NOT_AVAILABLE'));
        on(ev.FOCUS_LEFT, () => report('FOCUS_LEFT'));
        // The meeting id read from the room's disco#info (Jitsi's
        // mod_muc_meeting_id sets it).
        on(ev.CONFERENCE_UNIQUE_ID_SET, id => report('CONFERENCE_UNIQUE_ID_SET', { detail: String(id) }));

        // Mute state of every track, the page's own and the others'.
        on(ev.TRACK_MUTE_CHANGED, track => {
            report('TRACK_MUTE_CHANGED', {
                participant: track.isLocal() ? conf.myUserId() : track.getParticipantId(),
                media: track.getType(),
                detail: track.isMuted() ? 'muted' : 'unmuted',
                local: track.isLocal(),
            });
        });
        // AV moderation, as the av_moderation component tells the page.
        on(ev.AV_MODERATION_CHANGED, ({ enabled, mediaType, actor }) => {
            report('AV_MODERATION_CHANGED', { media: mediaType, detail: enabled ? 'enabled' : 'disabled', actor: actor ? actor.getId() : '' });
        });
        on(ev.AV_MODERATION_APPROVED, ({ mediaType }) => report('AV_MODERATION_APPROVED', { media: mediaType }));
        on(ev.AV_MODERATION_REJECTED, ({ mediaType }) => report('AV_MODERATION_REJECTED', { media: mediaType }));
        on(ev.AV_MODERATION_PARTICIPANT_APPROVED, ({ participant, mediaType }) => {
            report('AV_MODERATION_PARTICIPANT_APPROVED', { participant: participant ? participant.getId() : '', media: mediaType });
        });
        // Breakout rooms: the rooms as the component lists them, and the
        // request to move, which the page follows as Jitsi Meet does.
        on(ev.BREAKOUT_ROOMS_UPDATED, payload => {
            report('BREAKOUT_ROOMS_UPDATED', { detail: JSON.stringify((payload && payload.rooms) || {}) });
        });
        on(ev.BREAKOUT_ROOMS_MOVE_TO_ROOM, roomJid => {
            report('BREAKOUT_ROOMS_MOVE_TO_ROOM', { detail: roomJid });
            moveToRoom(conf, roomJid).catch(err => report('HARNESS_ERROR', { detail: `move to ${roomJid}: ${describe(err)}` }));
        });
        // Lobby.
        on(ev.MEMBERS_ONLY_CHANGED, enabled => report('MEMBERS_ONLY_CHANGED', { detail: enabled ? 'enabled' : 'disabled' }));
        on(ev.LOBBY_USER_JOINED, (id, name) => report('LOBBY_USER_JOINED', { participant: id, detail: name || '' }));
        on(ev.LOBBY_USER_LEFT, id => report('LOBBY_USER_LEFT', { participant: id }));

        // ICE and Jingle session events are not part of the public API; the
        // conference's chat room re-emits them (lib-jitsi-meet's XMPPEvents).
        const room = conf.room;
        if (room && room.addListener) {
            room.addListener('xmpp.ice_connection_state_changed', (session, state) => {
                report('ICE_STATE', { detail: String(state), sid: session && session.sid, p2p: Boolean(session && session.isP2P) });
            });
            room.addListener('xmpp.connection.ice.failed', session => {
                report('ICE_FAILED', { sid: session && session.sid, p2p: Boolean(session && session.isP2P) });
            });
        } else {
            report('harness-warning', { detail: 'no chat room to watch ICE on' });
        }
        // The connection's listeners, once per connection (a move to
        // another room makes a new conference on the same connection).
        const xmpp = conf.xmpp;
        if (xmpp && xmpp.addListener && !jingleWatched) {
            jingleWatched = true;
            // A new session-initiate from the focus (the first, or a re-invite).
            xmpp.addListener('xmpp.callincoming.jingle', session => {
                report('SESSION_INITIATE', { sid: session && session.sid, p2p: Boolean(session && session.isP2P) });
            });
            xmpp.addListener('xmpp.callended.jingle', (session, reason, text) => {
                report('SESSION_ENDED', { sid: session && session.sid, detail: `${reason || ''} ${text || ''}`.trim() });
            });
        }
    }

    // focalJoin starts joining; progress and failure arrive as reports.
    window.focalJoin = function (cfg) {
        started = Date.now();
        report('JOIN_CALLED');
        connect(cfg, true).catch(err => report('HARNESS_ERROR', { detail: describe(err) }));
    };

    // focalConnect does what focalJoin does up to the XMPP connection
    // (CONNECTION_ESTABLISHED); focalEnter then joins the conference. Split
    // so that a test can send the conference request at a chosen moment.
    window.focalConnect = function (cfg) {
        started = Date.now();
        report('CONNECT_CALLED');
        connect(cfg, false).catch(err => report('HARNESS_ERROR', { detail: describe(err) }));
    };
    window.focalEnter = function () {
        report('ENTER_CALLED');
        enter();
    };

    let joinConfig = null;
    let focusJID = '';

    async function connect(cfg, andEnter) {
        joinConfig = cfg;
        focusJID = cfg.focus;
        JitsiMeetJS.init({});
        JitsiMeetJS.setLogLevel(JitsiMeetJS.logLevels.WARN);

        localTracks = await JitsiMeetJS.createLocalTracks({ devices: ['audio', 'video'] });
        report('LOCAL_TRACKS', { detail: localTracks.map(t => t.getType()).join(',') });

        connection = new JitsiMeetJS.JitsiConnection(null, null, {
            hosts: { domain: cfg.domain, muc: cfg.muc, focus: cfg.focus },
            serviceUrl: cfg.serviceUrl,
        });
        tapStanzas(connection);
        const cev = JitsiMeetJS.events.connection;
        connection.addEventListener(cev.CONNECTION_FAILED, (err, msg) => report('CONNECTION_FAILED', { detail: `${describe(err)} ${describe(msg)}`.trim() }));
        connection.addEventListener(cev.CONNECTION_DISCONNECTED, msg => report('CONNECTION_DISCONNECTED', { detail: describe(msg) }));
        connection.addEventListener(cev.CONNECTION_ESTABLISHED, () => {
            report('CONNECTION_ESTABLISHED');
            if (andEnter) {
                enter();
            }
        });
        connection.connect();
    }

    function enter() {
        joinRoom(joinConfig.room);
    }

    // joinRoom joins name (a string, or a String with the domain of
    // another MUC, as Jitsi Meet names a breakout room) with a new
    // JitsiConference on the page's connection, adding the local tracks.
    function joinRoom(name) {
        // Jitsi Meet's defaults but for p2p, so that every session goes
        // through the focus and a bridge.
        const options = Object.assign({ p2p: { enabled: false } }, joinConfig.config || {});
        conference = connection.initJitsiConference(name, options);
        watchConference(conference);
        for (const track of localTracks) {
            conference.addTrack(track).catch(err => report('HARNESS_ERROR', { detail: `addTrack: ${describe(err)}` }));
        }
        // A user with a name (Jitsi Meet's prejoin screen) has it in
        // presence; the lobby requires one.
        if (joinConfig.knock) {
            conference.setDisplayName(joinConfig.knock);
        }
        conference.join();
    }

    // moveToRoom does what Jitsi Meet does when told to move to another
    // room (breakout-rooms/actions.ts moveToRoom): it leaves the
    // conference with the reason switch_room and joins the other room with
    // a new JitsiConference on the same connection, room name and domain
    // taken from the room's JID.
    async function moveToRoom(from, roomJid) {
        const at = roomJid.indexOf('@');
        const name = new String(roomJid.slice(0, at)); // eslint-disable-line no-new-wrappers
        name.domain = roomJid.slice(at + 1);
        conference = null;
        await from.leave('switch_room');
        report('MOVE_LEFT', { detail: roomJID(from) || roomJid });
        joinRoom(name);
    }

    function localTrack(media) {
        const t = localTracks.find(t => t.getType() === media);
        if (!t) {
            throw new Error(`no local ${media} track`);
        }
        return t;
    }

    // focalDo runs one of the actions a Jitsi Meet user takes, with the
    // library's own API, and resolves with its result, if any.
    const actions = {
        // The moderator's "mute" (and "mute everyone", one by one).
        muteParticipant: (id, media) => conference.muteParticipant(id, media),
        // The page's own mute button.
        muteLocal: media => localTrack(media).mute(),
        // Unmuting a track the focus muted makes lib-jitsi-meet ask the
        // focus to unmute it (<mute>false</mute>); the answer says whether
        // it was muted by the focus.
        unmuteLocal: async media => {
            const byFocus = media === 'audio' ? conference.isMutedByFocus : conference.isVideoMutedByFocus;
            await localTrack(media).unmute();
            return { mutedByFocus: Boolean(byFocus) };
        },
        localMuted: media => localTrack(media).isMuted(),
        isModerator: () => conference.isModerator(),
        isAVModerationSupported: () => conference.isAVModerationSupported(),
        enableAVModeration: media => conference.enableAVModeration(media),
        disableAVModeration: media => conference.disableAVModeration(media),
        avModerationApprove: (media, id) => conference.avModerationApprove(media, id),
        roomJID: () => roomJID(conference),
        breakoutSupported: () => Boolean(conference.getBreakoutRooms() && conference.getBreakoutRooms().isSupported()),
        createBreakoutRoom: subject => conference.getBreakoutRooms().createBreakoutRoom(subject),
        // A participant, by the connection JID the breakout rooms' list
        // gives it, as Jitsi Meet sends someone to a room.
        sendJIDToRoom: (jid, roomJid) => conference.getBreakoutRooms().sendParticipantToRoom(jid, roomJid),
        // The user's own move: Jitsi Meet's "join" of a breakout room and
        // "leave breakout room" (back to the main room).
        moveToRoom: roomJid => moveToRoom(conference, roomJid),
        enableLobby: () => conference.enableLobby(),
        // A stanza of the test's own, sent on the page's connection as a
        // modified client could (bad-input tests). Its from is the
        // server's to set.
        sendRaw: xml => {
            const doc = new DOMParser().parseFromString(xml, 'text/xml');
            const err = doc.getElementsByTagName('parsererror')[0];
            if (err) {
                throw new Error(`sendRaw: ${err.textContent}`);
            }
            connection.xmpp.connection._stropheConn.send(doc.documentElement);
        },
        lobbyApproveAccess: id => conference.lobbyApproveAccess(id),
        // Jitsi Meet's login dialog on a secure domain: a second
        // connection logs in as id, asks the focus for a session, and the
        // page's own connection asks again with it.
        login: (id, password) => conference.authenticateAndUpgradeRole({ id, password }),
        // Jitsi Meet joins again once logged in (its "wait for owner" loop).
        join: () => conference.join(),
    };
    window.focalDo = async function (name, args) {
        const fn = actions[name];
        if (!fn) {
            throw new Error(`no action ${name}`);
        }
        if (!conference) {
            throw new Error(`${name}: not in a conference`);
        }
        const out = await fn(...(args || []));
        return out === undefined ? null : out;
    };

    // focalLeave leaves the conference and closes the connection.
    window.focalLeave = async function () {
        if (conference) {
            await conference.leave();
        }
        if (connection) {
            await connection.disconnect();
        }
        for (const track of localTracks) {
            track.dispose();
        }
        report('LEFT');
    };

    window.addEventListener('error', e => report('PAGE_ERROR', { detail: describe(e.error || e.message) }));
    window.addEventListener('unhandledrejection', e => report('PAGE_ERROR', { detail: `unhandled rejection: ${describe(e.reason)}` }));
    report('PAGE_LOADED', { detail: typeof JitsiMeetJS === 'undefined' ? 'no JitsiMeetJS' : JitsiMeetJS.version });
})();
