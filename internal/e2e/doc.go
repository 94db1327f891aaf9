// Package e2e holds faultline's end-to-end tests: archives of thousands of
// files downloaded from a real server on 127.0.0.1 that breaks on cue
// (package faulttest), over HTTP/1.1 and HTTP/2, streamed through
// adapters/httpx into adapters/tarx, and the unpacked tree compared file by
// file with what was archived.
//
// The package has no API; its tests are the point. The programs under
// cmd/ serve and generate archives for bench/fetch.sh.
//
// Trees are unpacked under /dev/shm when it is a writable directory: on
// the disks these tests run on, creating a file costs about a
// millisecond, which would make a 2,000-file unpack take seconds and the
// matrix minutes. Set FAULTLINE_E2E_TMPDIR to choose another place.
package e2e
