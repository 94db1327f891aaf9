package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Exit codes. Deciding "fail" for an input is a successful run: the exit
// code reports whether retrycheck could do its job, not what it decided.
const (
	exitOK    = 0 // every input decided, every case passed, no lint error
	exitFail  = 1 // a case failed, a lint error, a policy could not evaluate an input
	exitUsage = 2 // bad flags or arguments, an unreadable input or policy
)

// A command is one subcommand. Each has its own flag.FlagSet, built afresh
// for every run, so tests can drive run concurrently with any arguments.
type command struct {
	name    string
	args    string // the arguments after the flags in the usage line
	summary string // one line for the command list
	help    string // what the command does, with an example
	// setup registers the command's flags and returns the function that
	// runs it on the arguments left after the flags.
	setup func(fs *flag.FlagSet, cl *cli) func(ctx context.Context, args []string) int
}

// commands is the command table, in the order the help lists them.
func commands() []*command {
	return []*command{
		decideCommand(),
		explainCommand(),
		testCommand(),
		lintCommand(),
		diffCommand(),
		fetchCommand(), // fetch.go: download and unpack with the adapters
		policyCommand(),
		versionCommand(),
	}
}

// cli is what every command shares: the standard streams, the environment
// and the flags common to all commands.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string

	name       string // the command's name, for messages
	policyPath string // --policy: a shipped policy's name or a file
	json       bool   // --json
}

// run is main without the process: it parses args, runs one command and
// returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cl := &cli{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	if len(args) == 0 {
		fmt.Fprint(stderr, topHelp())
		return exitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		return cl.help(args[1:])
	case "-version", "--version":
		args = append([]string{"version"}, args[1:]...)
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return cl.runCommand(ctx, c, args[1:])
		}
	}
	fmt.Fprintf(stderr, "retrycheck: unknown command %q\nRun 'retrycheck help' for usage.\n", args[0])
	return exitUsage
}

// help prints the top-level help or one command's help to stdout.
func (cl *cli) help(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(cl.stdout, topHelp())
		return exitOK
	}
	if len(args) > 1 {
		fmt.Fprintf(cl.stderr, "usage: retrycheck help [command]\n")
		return exitUsage
	}
	for _, c := range commands() {
		if c.name == args[0] {
			fmt.Fprint(cl.stdout, commandHelp(c))
			return exitOK
		}
	}
	fmt.Fprintf(cl.stderr, "retrycheck help: unknown command %q\n", args[0])
	return exitUsage
}

func (cl *cli) runCommand(ctx context.Context, c *command, args []string) int {
	cl.name = c.name
	fs := newFlagSet(c.name)
	exec := c.setup(fs, cl)
	rest, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(cl.stdout, commandHelp(c))
		return exitOK
	}
	if err != nil {
		return cl.usagef("%v", err)
	}
	return exec(ctx, rest)
}

// usagef reports a usage error and returns exitUsage.
func (cl *cli) usagef(format string, args ...any) int {
	fmt.Fprintf(cl.stderr, "retrycheck %s: %s\nRun 'retrycheck %s --help' for usage.\n",
		cl.name, fmt.Sprintf(format, args...), cl.name)
	return exitUsage
}

// errorf reports a problem with one input or file, without the usage hint.
func (cl *cli) errorf(format string, args ...any) {
	fmt.Fprintf(cl.stderr, "retrycheck %s: %s\n", cl.name, fmt.Sprintf(format, args...))
}

// newFlagSet returns a flag set that reports errors to its caller instead
// of printing them, so run decides what is printed where.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseInterspersed parses flags wherever they appear among the arguments
// ("test policy.yaml --cases dir"), as people type them; "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(positional, rest...), nil
		}
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// commonFlags registers the flags every command that reads a policy takes.
func (cl *cli) commonFlags(fs *flag.FlagSet) {
	fs.StringVar(&cl.policyPath, "policy", "", "`NAME|FILE`: a shipped policy (default, ci, interactive) or a policy file; default $FAULTLINE_POLICY, else default")
	fs.BoolVar(&cl.json, "json", false, "print JSON instead of text")
}

// flagHelp lists a flag set's flags the way the help shows them:
// double dashes, the value's name, the usage, the default when it is not
// the zero value.
func flagHelp(fs *flag.FlagSet) string {
	var b strings.Builder
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(&b, "\t--%s", f.Name)
		if name != "" {
			fmt.Fprintf(&b, " %s", name)
		}
		fmt.Fprintf(&b, "\n\t\t%s", usage)
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" && f.DefValue != "0s" {
			fmt.Fprintf(&b, " (default %s)", f.DefValue)
		}
		b.WriteByte('\n')
	})
	return b.String()
}
