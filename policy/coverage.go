package policy

import (
	"context"
	"time"

	"github.com/faultline-go/faultline/classify"
)

// Unreached returns the kinds of classify's vocabulary (other than
// unknown) that no rule of the policy decides: whatever the phase, the
// state or the details, a failure of that kind falls to the default. A
// kind the policy fails on purpose should be named by a rule that says
// so, so that the choice is written down rather than inherited.
//
// It decides, for each kind, a grid of representative failures: every
// phase; a resumable and a plain response; transient and not; a first
// attempt and a later one, with progress and without; the statuses and
// gRPC codes that matter (404, 503, 522; UNAVAILABLE, PERMISSION_DENIED);
// a decode failure with and without a transport cause. A kind is reached
// when any of them is decided by a rule. Rules that only hold on facts
// outside the grid (a label, an errno) are not seen.
func (p *Policy) Unreached() []classify.Kind {
	var out []classify.Kind
	for _, k := range classify.Kinds() {
		if k == classify.Unknown || p.reaches(k) {
			continue
		}
		out = append(out, k)
	}
	return out
}

// reaches reports whether some failure of kind k is decided by a rule.
func (p *Policy) reaches(k classify.Kind) bool {
	ctx := context.Background()
	phases := []Phase{PhaseConnect, PhaseRequest, PhaseHeaders, PhaseBody, PhaseUnpack, PhaseCommit}
	type detail func(*classify.Facts)
	details := []detail{func(*classify.Facts) {}}
	switch k {
	case classify.HTTPStatus:
		details = nil
		for _, s := range []int{404, 503, 522} {
			details = append(details, func(f *classify.Facts) { f.HTTP.Status = s })
		}
	case classify.GRPCStatus:
		details = nil
		for _, c := range []string{"UNAVAILABLE", "PERMISSION_DENIED"} {
			details = append(details, func(f *classify.Facts) { f.GRPC.Code = c })
		}
	case classify.Decode, classify.Archive, classify.Checksum:
		details = append(details, func(f *classify.Facts) { f.CausedByTransport = true })
	case classify.H2Stream, classify.H2Connection:
		details = append(details, func(f *classify.Facts) { f.H2.Code = "REFUSED_STREAM"; f.H2.Unprocessed = true })
	}
	for _, phase := range phases {
		for _, transient := range []bool{k.TransientDefault(), !k.TransientDefault()} {
			for _, resumable := range []bool{false, true} {
				for _, attempt := range []int{1, 3} {
					for _, d := range details {
						f := classify.Facts{Kind: k, Transient: transient, Layer: -1}
						d(&f)
						st := State{Phase: phase, Attempt: attempt, TotalExpected: 1 << 20, BytesReceived: 1 << 18,
							Request:  Request{Method: "GET", Idempotent: true},
							Response: Response{Status: 200, AcceptRanges: resumable, Resumable: resumable}}
						st.Progress = &Progress{Gained: 1 << 18, Duration: time.Second}
						dec, err := p.Decide(ctx, Input{Error: f, State: st})
						if err == nil && dec.Rule != "" {
							return true
						}
					}
				}
			}
		}
	}
	return false
}
