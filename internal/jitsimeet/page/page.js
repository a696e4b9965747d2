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
    const interesting = /http:\/\/jitsi\.org\/protocol\/focus|urn:xmpp:jingle:1|ready=|bridge-session|conference-properties|type="error"/;

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

    function inspect(dir, elem) {
        const xml = new XMLSerializer().serializeToString(elem);
        if (!interesting.test(xml)) {
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

    function watchConference(conf) {
        const ev = JitsiMeetJS.events.conference;
        conf.on(ev.CONFERENCE_JOINED, () => {
            report('CONFERENCE_JOINED', { participant: conf.myUserId(), moderator: conf.isModerator() });
        });
        conf.on(ev.CONFERENCE_FAILED, (err, ...rest) => report('CONFERENCE_FAILED', { detail: `${describe(err)} ${rest.map(describe).join(' ')}`.trim() }));
        conf.on(ev.CONFERENCE_ERROR, (err, ...rest) => report('CONFERENCE_ERROR', { detail: `${describe(err)} ${rest.map(describe).join(' ')}`.trim() }));
        conf.on(ev.CONFERENCE_LEFT, () => report('CONFERENCE_LEFT'));
        conf.on(ev.KICKED, () => report('KICKED'));
        conf.on(ev.TRACK_ADDED, track => {
            if (!track.isLocal()) {
                report('TRACK_ADDED', { participant: track.getParticipantId(), media: track.getType(), detail: track.getSourceName ? track.getSourceName() : '' });
            }
        });
        conf.on(ev.TRACK_REMOVED, track => {
            if (!track.isLocal()) {
                report('TRACK_REMOVED', { participant: track.getParticipantId(), media: track.getType(), detail: track.getSourceName ? track.getSourceName() : '' });
            }
        });
        conf.on(ev.USER_JOINED, id => report('USER_JOINED', { participant: id }));
        conf.on(ev.USER_LEFT, id => report('USER_LEFT', { participant: id }));
        conf.on(ev.USER_ROLE_CHANGED, (id, role) => report('USER_ROLE_CHANGED', { participant: id, detail: role, local: id === conf.myUserId() }));
        conf.on(ev.CONNECTION_INTERRUPTED, () => report('CONNECTION_INTERRUPTED'));
        conf.on(ev.CONNECTION_RESTORED, () => report('CONNECTION_RESTORED'));
        conf.on(ev.CONNECTION_ESTABLISHED, () => report('MEDIA_CONNECTION_ESTABLISHED'));
        conf.on(ev.BRIDGE_DOWN || 'conference.bridgeDown', () => report('BRIDGE_DOWN'));
        conf.on(ev.VIDEOBRIDGE_NOT_AVAILABLE || 'conference.videobridgeNotAvailable', () => report('VIDEOBRIDGE_NOT_AVAILABLE'));
        conf.on(ev.FOCUS_LEFT, () => report('FOCUS_LEFT'));
        // The meeting id read from the room's disco#info (Jitsi's
        // mod_muc_meeting_id sets it).
        conf.on(ev.CONFERENCE_UNIQUE_ID_SET, id => report('CONFERENCE_UNIQUE_ID_SET', { detail: String(id) }));

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
        const xmpp = conf.xmpp;
        if (xmpp && xmpp.addListener) {
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
        // Jitsi Meet's defaults but for p2p, so that every session goes
        // through the focus and a bridge.
        const options = Object.assign({ p2p: { enabled: false } }, joinConfig.config || {});
        conference = connection.initJitsiConference(joinConfig.room, options);
        watchConference(conference);
        for (const track of localTracks) {
            conference.addTrack(track).catch(err => report('HARNESS_ERROR', { detail: `addTrack: ${describe(err)}` }));
        }
        conference.join();
    }

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
