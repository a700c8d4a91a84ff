/* The status socket's protocol, shared by the daemon and its clients (netdctl): one JSON
 * request per line and one JSON reply per line (or a stream of event lines).
 *
 * Request:  {"command": "status"}            optional "args": {...}
 * Reply:    {"version": 1, "ok": true,  "result": ...}
 *           {"version": 1, "ok": false, "error": "message"}   optional "code" (below)
 * Event:    {"version": 1, "ok": true,  "event": {...}}   (after an "events" request)
 *
 * An error's "code" tells a program what happened where the text is for people: "full"
 * (no slot for this client; the connection is closed), "evicted" (closed to make room for
 * root), "denied" (the command needs root or the configured group).
 */
#ifndef NETD_CTLPROTO_H
#define NETD_CTLPROTO_H

#define CTL_PROTOCOL_VERSION 1
#define CTL_DEFAULT_SOCKET   "/run/netd/netd.sock"
#define CTL_MAX_REQUEST      (64 * 1024) /* bytes in one request line, newline included */
/* The longest event line, and how far an event subscriber may fall behind. */
#define CTL_MAX_OUTPUT (4 * 1024 * 1024)
/* The longest reply. The peers and metrics replies grow with the view (about 620 and 330
 * bytes a site): 64 MiB holds a view of 100,000 sites. */
#define CTL_MAX_REPLY (64 * 1024 * 1024)
/* The longest text "publish" takes: an armoured federation document (CRED_ARMOR_MAX). */
#define CTL_MAX_DOCUMENT 2048

#endif
