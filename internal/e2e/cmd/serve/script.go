package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/faultline-go/faultline/faulttest"
)

// parseScript parses FAULTS (see the package documentation) for a file of
// size bytes.
func parseScript(s string, size int64) ([]faulttest.Fault, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []faulttest.Fault
	for i, item := range strings.Split(s, ",") {
		f, err := parseFault(strings.TrimSpace(item), size)
		if err != nil {
			return nil, fmt.Errorf("fault %d %q: %w", i+1, item, err)
		}
		out = append(out, f)
	}
	return out, nil
}

func parseFault(s string, size int64) (faulttest.Fault, error) {
	kind, at, hasAt := strings.Cut(s, "@")
	var f faulttest.Fault
	switch faulttest.Kind(kind) {
	case "none":
	case faulttest.Reset, faulttest.ResetStream, faulttest.GoAway, faulttest.Stall,
		faulttest.Truncate, faulttest.Corrupt, faulttest.Status, faulttest.IgnoreRange,
		faulttest.WrongContentRange, faulttest.RangeNotSatisfiable, faulttest.WeakETag,
		faulttest.ChangeETag, faulttest.ChangeContent:
		f.Kind = faulttest.Kind(kind)
	default:
		return f, fmt.Errorf("unknown fault kind %q", kind)
	}
	if !hasAt {
		return f, nil
	}
	if pct, ok := strings.CutSuffix(at, "%"); ok {
		p, err := strconv.ParseFloat(pct, 64)
		if err != nil || p < 0 || p > 100 {
			return f, fmt.Errorf("offset %q: want a percentage from 0 to 100", at)
		}
		// Clamped: a float too large for an int64 would convert to a
		// negative offset.
		if v := p / 100 * float64(size); v < float64(size) {
			f.At = int64(v)
		} else {
			f.At = size
		}
		return f, nil
	}
	n, err := strconv.ParseInt(at, 10, 64)
	if err != nil || n < 0 {
		return f, fmt.Errorf("offset %q: want a byte count or a percentage", at)
	}
	f.At = n
	return f, nil
}
