// Package faulttest provides an HTTP server for tests that serves one
// representation with real bytes and breaks on cue, so that a downloader
// or client can be tested against the failures real networks produce: a
// connection reset at 80% of the body, an HTTP/2 RST_STREAM or GOAWAY, a
// stall, a body cut short, a corrupted byte, a 503 with Retry-After, a
// server that ignores Range or changes the file between two requests.
//
// It is to faults what net/http/httptest is to handlers: Start listens on
// 127.0.0.1 on a free port, Server.URL is where to send requests,
// Server.Client returns a client that trusts the server, and Close stops
// everything the server started. No network namespace, root or external
// tool is needed; the faults are real socket events, not mocks.
//
// It speaks HTTP/1.1 and HTTP/2 with its own small response writers, so a
// fault lands at an exact byte offset of the response body: a TCP reset
// after K bytes (SO_LINGER 0), an RST_STREAM, a GOAWAY, a stall, a body cut
// short of its Content-Length, a flipped byte. A plain server answers
// HTTP/1.1 and HTTP/2 with prior knowledge (h2c) on the same port; a TLS
// server (Config.TLS) picks the protocol by ALPN and uses a fresh
// self-signed certificate for 127.0.0.1 and localhost.
//
// Faults are scripted per request: Config.Script[i] applies to the (i+1)th
// request the server receives, whatever connection it arrives on. Requests
// past the end of the script are served faithfully. Every path serves the
// same content. The server honours Range and If-Range (RFC 9110 §14.2,
// §13.1.5) with 206 and 416 responses (capped at Config.MaxRange bytes when
// set) and sends a strong ETag, Last-Modified and Accept-Ranges, unless a
// fault says otherwise.
//
// It records every request (Server.Requests: method, Range, If-Range, the
// status sent, the fault applied, the body bytes written) and counts the
// bytes it wrote, body (Server.BodyBytes) and wire (Server.WireBytes), so a
// test can assert how many requests a client made and how many bytes it
// downloaded again after a failure.
package faulttest
