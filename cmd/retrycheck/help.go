package main

import (
	"fmt"
	"strings"
)

// topHelp is the help for retrycheck as a whole; doc.go holds the same text
// followed by every command's help (help_test.go keeps them equal).
func topHelp() string {
	var b strings.Builder
	b.WriteString(`Retrycheck replays recorded failures and pasted error text against a
faultline policy and says what the policy would do about each one:
retry, resume or fail, after what delay, by which rule and why.

Usage:

	retrycheck <command> [flags] [arguments]

The commands are:

`)
	for _, c := range commands() {
		fmt.Fprintf(&b, "\t%-8s %s\n", c.name, c.summary)
	}
	b.WriteString(`
Run "retrycheck help <command>" or "retrycheck <command> --help" for a
command's flags and an example.

Inputs are recognised by their content, not their name:

  - a recorded dump: one JSON object with a "chain" and a "state", as
    faultline writes them (policy.WriteDump); a bare chain (an object with
    "layers") is accepted too;
  - JSON Lines: one dump per line, read line by line, so a file of any
    length is decided in constant memory;
  - plain text: a Go error message ("a: b: read tcp ...: connection reset
    by peer") or an anyhow-style chain ("error: ..." followed by
    "Caused by: ..." lines, as uv and cargo print them).

"-" reads standard input. Text carries no operation state, so the state
flags (--phase, --attempt, --elapsed, --bytes, --total, --resumable,
--status, --retry-after, --method, --caller-done) supply it; what they
leave out is inferred from the text where it shows ("error decoding
response body" means the body was being read) and the output marks it as
inferred.
Leading lines of a text input that start with "#" are a header that
records the case's expectation and state: "# expect: ACTION",
"# rule: NAME" and "# flags: --phase body ..." (see
testdata/corpus/README.md).

The policy is the one --policy names, else $FAULTLINE_POLICY, else the
default policy built into retrycheck. Either names a shipped policy
(default, ci or interactive; "retrycheck policy show NAME" prints it) or
a policy file ("./ci" for a file that has a shipped policy's name).
explain and decide --json say which policy decided; on a terminal, a
note on standard error says when the default was used.

Exit status: 0 when every input was decided, whatever the decision; 1
when a test case failed, a policy has lint errors, a policy could not
evaluate an input, or diff found decisions that change; 2 for usage
errors and unreadable inputs or policies, reported with the input's name
and, for JSON, the line and column (and for diff, an input a policy could
not evaluate). fetch adds a code per class of failure: 65 for corrupt or
unsafe data, 75 when retrying later may work, 130 when interrupted
("retrycheck help fetch").
`)
	return b.String()
}

// commandHelp is one command's help: usage line, description with an
// example, and its flags.
func commandHelp(c *command) string {
	fs := newFlagSet(c.name)
	c.setup(fs, &cli{})
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: retrycheck %s [flags] %s\n\n", c.name, c.args)
	b.WriteString(strings.TrimSpace(c.help))
	b.WriteString("\n")
	if f := flagHelp(fs); f != "" {
		b.WriteString("\nFlags:\n\n")
		b.WriteString(f)
	}
	return b.String()
}

// docText is the text of doc.go's package comment: the top-level help,
// then every command's help under a heading.
func docText() string {
	var b strings.Builder
	b.WriteString(topHelp())
	for _, c := range commands() {
		fmt.Fprintf(&b, "\n# %s\n\n", c.name)
		b.WriteString(commandHelp(c))
	}
	return b.String()
}
