package main

import (
	"fmt"
	"strings"

	"github.com/faultline-go/faultline/policy"
)

// A header is what the leading "#" lines of a text input record, so that
// a pasted error can carry its expected outcome and the state it happened
// in, the way a dump does:
//
//	# source: https://github.com/astral-sh/uv/issues/14171
//	# expect: resume
//	# rule: transport-mid-body
//	# flags: --phase body --bytes 1048576 --total 4194304 --resumable
//
// Other "#" lines are comments. The header ends at the first line that
// does not start with "#".
type header struct {
	expect *policy.Expect
	flags  *stateFlags // nil without a "flags:" line
	// errLine is the line of the header a returned error is about.
	errLine int
}

// parseHeader splits text into its header and the error text after it.
func parseHeader(text string) (header, string, error) {
	var h header
	ruleLine := 0
	rest := text
	for n := 1; strings.HasPrefix(rest, "#"); n++ {
		line, after, _ := strings.Cut(rest, "\n")
		rest = after
		key, value, ok := strings.Cut(strings.TrimSpace(strings.TrimPrefix(line, "#")), ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		switch strings.ToLower(strings.TrimSpace(key)) {
		case "expect":
			a := policy.Action(value)
			if a != policy.Retry && a != policy.Resume && a != policy.Fail {
				h.errLine = n
				return h, "", fmt.Errorf("header: expect %q: want retry, resume or fail", value)
			}
			if h.expect == nil {
				h.expect = &policy.Expect{}
			}
			h.expect.Action = a
		case "rule":
			ruleLine = n
			if h.expect == nil {
				h.expect = &policy.Expect{}
			}
			h.expect.Rule = value
		case "flags":
			sf := &stateFlags{}
			fs := newFlagSet("header")
			sf.register(fs)
			if err := fs.Parse(strings.Fields(value)); err != nil {
				h.errLine = n
				return h, "", fmt.Errorf("header: flags: %w", err)
			}
			if fs.NArg() > 0 {
				h.errLine = n
				return h, "", fmt.Errorf("header: flags: unexpected argument %q", fs.Arg(0))
			}
			if err := sf.check(); err != nil {
				h.errLine = n
				return h, "", fmt.Errorf("header: flags: %w", err)
			}
			h.flags = sf
		}
	}
	if h.expect != nil && h.expect.Action == "" {
		h.errLine = ruleLine
		return h, "", fmt.Errorf(`header: "rule:" without "expect:"`)
	}
	return h, rest, nil
}
