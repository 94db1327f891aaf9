package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/faultline-go/faultline/policies"
	"github.com/faultline-go/faultline/policy"
)

func policyCommand() *command {
	return &command{
		name:    "policy",
		args:    "list | show NAME",
		summary: "list the shipped policies, or print one to copy and edit",
		help: `
Policy list names the policies built into retrycheck, each with its
description. Policy show NAME prints the shipped policy NAME as YAML,
comments and test cases included: the start of a policy of your own.
Every command that takes --policy takes these names as well as files.
Policy show recognisers prints the recognisers every policy reads other
ecosystems' error texts with (unless it says shipped_recognisers: false):
the start of a deployment's own.

Example:

	$ retrycheck policy list
	$ retrycheck policy show ci > mine.yaml
	$ retrycheck lint mine.yaml
	mine.yaml: ok
	$ retrycheck test mine.yaml`,
		setup: func(fs *flag.FlagSet, cl *cli) func(context.Context, []string) int {
			fs.BoolVar(&cl.json, "json", false, "list: print JSON instead of text")
			return func(ctx context.Context, args []string) int { return cl.policy(args) }
		},
	}
}

func (cl *cli) policy(args []string) int {
	if len(args) == 0 {
		return cl.usagef("want list or show NAME")
	}
	switch sub, rest := args[0], args[1:]; sub {
	case "list":
		if len(rest) > 0 {
			return cl.usagef("list: unexpected argument %q", rest[0])
		}
		return cl.policyList()
	case "show":
		if len(rest) != 1 {
			return cl.usagef("show: want one NAME (one of %v)", policies.Names())
		}
		if rest[0] == "recognisers" {
			cl.stdout.Write(policy.ShippedRecognisers())
			return exitOK
		}
		src, err := policies.Source(rest[0])
		if err != nil {
			return cl.usagef("show: no shipped policy %q (want one of %v)", rest[0], policies.Names())
		}
		cl.stdout.Write(src)
		return exitOK
	default:
		return cl.usagef("unknown subcommand %q (want list or show)", sub)
	}
}

func (cl *cli) policyList() int {
	type entry struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	enc := json.NewEncoder(cl.stdout)
	tw := tabwriter.NewWriter(cl.stdout, 0, 8, 2, ' ', 0)
	for _, name := range policies.Names() {
		p, err := policies.Load(name)
		if err != nil { // ruled out by the policies package's tests
			cl.errorf("%v", err)
			return exitFail
		}
		if cl.json {
			enc.Encode(entry{name, strings.TrimSpace(p.Description())})
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\n", name, strings.TrimSpace(p.Description()))
	}
	tw.Flush()
	return exitOK
}
