// Package httpx carries out faultline's decisions around an HTTP download:
// a streaming GET whose body resumes after a failure, a retry loop around
// the whole download-and-consume operation, and an http.RoundTripper that
// retries plain API calls under the same policy.
//
// Every failure — a request that fails, an error status, a body read that
// fails, a length or checksum that does not match, a consumer that gives
// up — is walked into a chain.Chain, classified, and decided by a
// policy.Decider with the operation's state (phase, attempt, bytes
// received and expected, whether the response can be resumed, time left
// before the caller's deadline). The decision is then carried out exactly:
// its delay (which policies raise to the server's Retry-After, RFC 9110
// §10.2.3) is slept with the caller's context, and the caller's context,
// the client's attempt cap and idempotency (RFC 9110 §9.2.2) hold whatever
// the Decider says. When the operation stops, the error is an *Error:
// "after 4 attempts (3 resumes, 0 restarts): <last cause>", which wraps
// the last cause.
//
// # Resume versus restart
//
// A resume continues where the body stopped: after N bytes were delivered,
// the next request carries "Range: bytes=N-" (RFC 9110 §14.2) and
// "If-Range" (§13.1.5) with the first response's strong ETag, or its
// Last-Modified date if that is a strong validator. Only a 206 Partial
// Content (§15.3.7) whose Content-Range (§14.4) starts at N, has the same
// complete length and agrees with its Content-Length is spliced on; the
// reader never notices. A 206 may end before the end of the
// representation, as from a server that caps the size of ranges: when it
// has delivered all it announced, the next range is asked for the same
// way, without a decision, since nothing failed (Result.Continuations
// counts these requests). A 206 cut short of what it announced is a
// failure like any other broken body, and is resumed.
//
// When the server cannot resume — it answers 200 to the range, or gave no
// validator to ask with — the whole representation comes again. If its
// validator changed, it is another representation. Otherwise its first N
// bytes are read and compared with the hash of the bytes already
// delivered; if they are the same, the download continues from there,
// still unnoticed. Anything else — a changed validator or length, a wrong
// Content-Range, a 416, different bytes — means the download must restart
// from the beginning: bytes from two representations are never spliced.
// A Body reports that with an error matching ErrRestart; Client.Do
// handles it by calling the consumer again with a fresh reader. A
// checksum mismatch at the end always restarts, since the bad byte may be
// anywhere.
//
// # Progress and stalls
//
// Every decision sees what the failed attempt achieved (policy.Progress):
// the bytes it gained past the furthest offset reached before, its
// duration and rate, and the attempts in a row that made no progress.
// A body that was flowing and goes silent is a stall (*StallError, kind
// "stall"), caught within an adaptive limit (Client.StallTimeout); a
// response that never starts is an idle timeout (Client.IdleTimeout).
//
// # Resume across processes
//
// With Options.Spool, the bytes received are kept in a directory as they
// arrive, each at its own offset whichever connection brought it (a
// parallel download spools the chunks fetched ahead of its consumer too),
// with a sidecar naming what they are: the URL's digest, the validator,
// the length, and the extents of the file that hold synced bytes, each
// with its CRC-32C. An operation that finds a spool for its URL checks the
// sidecar and every extent, and continues from there: the extent at the
// start counts as delivered and the consumer reads it first; each gap
// between extents is asked for with a bounded Range and If-Range, and each
// extent after a gap is read back from the spool when the stream reaches
// it. A parallel download goes wide again: a chunk the spool holds is read
// back from it, and a chunk's request asks only for the bytes it does not
// hold. The consumer sees one unbroken stream, as after any resume.
// The first request always goes out before the consumer reads a spooled
// byte, and the spool always leaves at least the last byte to ask for: a
// 206 for the same validator is what makes the spooled bytes current.
// Anything that does not match — another URL, a sidecar that does not
// parse or has another version, extents that overlap, are out of order,
// run past the length or are too many, bytes that fail their CRC or are
// fewer than the sidecar says, a server whose validator changed — means a
// clean start, logged as a *SpoolError; bytes of two representations are
// never spliced.
//
// # Parallel downloads
//
// A download with Options.Connections other than 0 or 1 may fetch its
// representation as several ranged requests in flight at once and still
// hand the consumer one ordered stream. The first request is the usual
// GET of the whole, or, on a fixed number of connections, a GET of its
// first 2 MiB with Range; its response decides: with a known length, byte
// ranges (Accept-Ranges: bytes, or a 206) and a strong validator, more
// connections may join; without any of them the download stays on one
// connection, exactly as without the option (a server that ignores the
// range sends everything in a 200, which is read as it comes; a 206
// without a validator is dropped for a GET of the whole, since nothing
// could be joined to it).
//
// The representation is cut into chunks, their count a multiple of the
// connections where the sizes allow, so that connections running at the
// same rate finish together. The first response keeps streaming the
// chunks at the front; every other connection asks for one
// chunk at a time with "Range: bytes=a-b" and "If-Range" (RFC 9110 §14.2,
// §13.1.5), and its 206 must say exactly those bytes of the same
// representation: Content-Range starting at a and ending at b or before
// (a server may send less, and the rest is asked for), the same complete
// length, the same validator. Anything else (a 200, another validator, a
// wrong Content-Range) restarts the whole download, never splices; a 200
// whose validator is unchanged means the server ignores ranges, and the
// restart stays on one connection. When the first response reaches a
// chunk another connection took, it is closed and a ranged connection
// takes its place. On a fixed number of connections it asked for its
// first bytes only, and then for the rest of its two chunks, so nothing
// was in flight past them; under ConnectionsAuto it is open-ended (the
// download may stay on one connection), and the bytes it had in flight
// are the one cost of going wide.
//
// Chunks that arrive ahead of the consumer wait in a reorder window of
// Options.Window bytes (DefaultWindow); a connection whose next chunk
// would not fit waits, so a slow consumer slows the network down instead
// of filling memory.
//
// A chunk whose request fails is resumed on its own, under the policy,
// with its own facts: attempt counts from 1, bytes received are its own
// progress, and the dump's source names the range. If the policy gives
// up on a chunk, the download fails; the other connections are stopped
// without further decisions. The length and Options.SHA256 are checked
// on the ordered stream, at its end.
//
// Options.Connections = N opens N connections at once (at most
// Options.MaxConnections to one host). ConnectionsAuto starts with one and
// adds more while the total rate grows, as TCP probes for bandwidth: not
// while the consumer is the limit (the window is full), nor while
// connections fail, and a 429 or 503 on any of them takes one away for
// good. Over HTTP/2 it first adds streams on the one connection, which
// beats a limit on each request, then, if that did not pay, connections
// of their own, which beat a limit on each connection. Client.Open always
// reads one response.
//
// # Cost
//
// A download that never fails pays for the restart check: a CRC-32C of
// every byte (SHA-256 when Options.SHA256 is set, since it is computed
// anyway; a keyed 64-bit hash when there is no strong ETag). Body reads
// the network in blocks of 64 KiB when the consumer asks for less, and
// implements io.WriterTo, so that io.Copy reads straight into the block
// it writes from.
//
// Requests ask for "Accept-Encoding: identity", so that offsets count the
// bytes of the representation, not of a compressed transfer of it.
//
// # Secrets
//
// A URL may carry a password or a signed query (pre-signed S3, GCS or
// Azure URLs), and a response may set cookies. httpx masks them in every
// error it returns (its own, and the *url.Error net/http returns, which
// hides a password but not a user name or a signature), in every log
// record, and in every dump, before the policy sees the failure: the
// userinfo, the values of signature and token query parameters, and the
// Authorization, Proxy-Authorization, Cookie and Set-Cookie fields of a
// StatusError's header become "REDACTED". The parameters and fields are
// listed in internal/redact (SensitiveParam, SensitiveHeader). Hooks
// receive the URL as the caller gave it.
//
// # Layers
//
// Client.Do, Client.Open and Transport share one operation state through
// the request context: a Transport under a Client, or under another
// Transport, sends each request once and leaves the decision to the
// outermost layer, so stacking them does not multiply attempts.
package httpx
