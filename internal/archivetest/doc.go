// Package archivetest builds deterministic file trees and tar archives for
// tarx's tests and benchmarks, checks an unpacked tree against what was
// archived, and holds a corpus of hostile archives, one per attack tarx must
// refuse.
//
// Everything is a pure function of its arguments: the same seed gives the
// same bytes on every machine, so benchmark inputs and fuzz seeds are
// reproducible and nothing needs to be checked in.
package archivetest
