package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/faultline-go/faultline/classify"
	"github.com/faultline-go/faultline/policy"
)

func lintCommand() *command {
	return &command{
		name:    "lint",
		args:    "POLICY...",
		summary: "load and type-check policy files",
		help: `
Lint loads every POLICY (a file, or a shipped policy's name) and
type-checks its rules, as faultline does before using a policy, and
prints every problem found, one a line, as
"file:line:col: message" (with the rule's name when the problem is in a
rule). A file without problems is reported as "ok", followed by a note naming
the kinds of the vocabulary that no rule decides, which fall to the
policy's default unseen (a policy that fails them on purpose says so in a
rule). The exit status is 1 when any file has a problem; a note is not a
problem.

Example:

	$ retrycheck policy show ci > mine.yaml
	$ retrycheck lint mine.yaml interactive
	mine.yaml: ok
	interactive: ok`,
		setup: func(fs *flag.FlagSet, cl *cli) func(context.Context, []string) int {
			fs.BoolVar(&cl.json, "json", false, "print JSON instead of text")
			return func(ctx context.Context, args []string) int { return cl.lint(args) }
		},
	}
}

// lintProblem is one problem as --json prints it.
type lintProblem struct {
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"col,omitempty"`
	Rule string `json:"rule,omitempty"`
	Msg  string `json:"message"`
}

func (cl *cli) lint(args []string) int {
	if len(args) == 0 {
		return cl.usagef("no policy files to lint")
	}
	code := exitOK
	enc := json.NewEncoder(cl.stdout)
	enc.SetEscapeHTML(false)
	for _, path := range args {
		p, err := resolvePolicy(path)
		var list policy.ErrorList
		switch {
		case err == nil:
			unreached := p.Unreached()
			if cl.json {
				enc.Encode(struct {
					File      string          `json:"file"`
					OK        bool            `json:"ok"`
					Policy    policy.ID       `json:"policy"`
					Unreached []classify.Kind `json:"unreached,omitempty"`
				}{path, true, p.ID(), unreached})
			} else {
				fmt.Fprintf(cl.stdout, "%s: ok\n", path)
				if len(unreached) > 0 {
					names := make([]string, len(unreached))
					for i, k := range unreached {
						names[i] = string(k)
					}
					fmt.Fprintf(cl.stdout, "%s: note: no rule decides the kinds %s: they fall to the default (%s)\n",
						path, strings.Join(names, ", "), p.Default())
				}
			}
			continue
		case errors.As(err, &list):
		default:
			// Not a problem in the policy: the file could not be read.
			list = policy.ErrorList{{File: path, Msg: err.Error()}}
		}
		code = exitFail
		for _, e := range list {
			if e.File == "" {
				e.File = path
			}
			if cl.json {
				enc.Encode(lintProblem{File: e.File, Line: e.Line, Col: e.Col, Rule: e.Rule, Msg: e.Msg})
			} else {
				fmt.Fprintln(cl.stdout, e.Error())
			}
		}
	}
	return code
}
