package main

import (
	"context"

	"github.com/faultline-go/faultline/classify"
	"github.com/faultline-go/faultline/policy"
)

// fetch's exit codes beyond exitOK, exitFail and exitUsage: one per class
// of failure, so that a script can tell "try again later" from "this will
// never work" without reading text. The numbers of the two middle classes
// are those of sysexits.h.
const (
	exitData        = 65  // EX_DATAERR: the data is corrupt or unsafe
	exitTempFail    = 75  // EX_TEMPFAIL: retrying later may work
	exitInterrupted = 130 // 128 + SIGINT, as shells report it
)

// The classes, as fetch --json names them.
const (
	classOK          = "ok"
	classFailed      = "failed"
	classUsage       = "usage"
	classData        = "data"
	classTempFail    = "tempfail"
	classInterrupted = "interrupted"
)

// exitCodes lists every exit code of fetch with its class and meaning, in
// the order the help and README show them (TestFetchExitCodes covers each).
var exitCodes = []struct {
	code  int
	class string
}{
	{exitOK, classOK},
	{exitFail, classFailed},
	{exitUsage, classUsage},
	{exitData, classData},
	{exitTempFail, classTempFail},
	{exitInterrupted, classInterrupted},
}

// limitGuards are the guards that stop an operation the rules would have
// continued: what ran out is a limit, not the chance of success.
var limitGuards = map[string]bool{
	policy.GuardMaxAttempts: true, policy.GuardMaxResumes: true, policy.GuardMaxRefetchBytes: true,
	policy.GuardMaxElapsed: true, policy.GuardDeadline: true, policy.GuardRetryAfter: true,
	policy.GuardBudget: true, policy.GuardMaxNoProgress: true,
}

// fetchExit classifies how a fetch ended: ctx is the fetch's context,
// failed whether it failed, facts those of the last failure and d the
// decision that ended it (nil when none was made).
func fetchExit(ctx context.Context, failed bool, facts classify.Facts, d *policy.Decision) (int, string) {
	switch {
	case !failed:
		return exitOK, classOK
	case ctx.Err() != nil:
		return exitInterrupted, classInterrupted
	}
	switch facts.Kind {
	case classify.Checksum, classify.UnsafeArchive, classify.Limit:
		return exitData, classData
	case classify.Decode, classify.Archive:
		if !facts.CausedByTransport {
			return exitData, classData
		}
	}
	if facts.Transient || d != nil && limitGuards[d.Guard] {
		return exitTempFail, classTempFail
	}
	return exitFail, classFailed
}
