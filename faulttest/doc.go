// Package faultserver is an HTTP server for tests that serves one
// representation with real bytes and breaks on cue.
//
// It speaks HTTP/1.1 and HTTP/2 with its own small response writers over a
// loopback listener, so that a fault lands at an exact byte offset of the
// response body: a TCP reset after K bytes (SO_LINGER 0), an RST_STREAM, a
// GOAWAY, a stall, a body cut short of its Content-Length, a corrupted byte.
// A plain server answers HTTP/1.1 and HTTP/2 with prior knowledge (h2c) on the
// same port; a TLS server picks the protocol by ALPN.
//
// Faults are scripted per request: Config.Script[i] applies to the (i+1)th
// request the server receives, whatever connection it arrives on. Requests
// past the end of the script are served faithfully. The server honours
// Range and If-Range (RFC 9110 §14.2, §13.1.5) with 206 and 416 responses
// (capped at Config.MaxRange bytes when set) and sends a strong ETag,
// Last-Modified and Accept-Ranges, unless a fault says otherwise. It records every request and counts the body bytes it
// wrote, per request and in total.
//
// Close stops everything the server started.
package faultserver
