// Command unpack extracts a tar, tar.gz or tar.zst archive with tarx, for
// benchmarks against other extractors:
//
//	unpack [-replace] [-sync] archive|- dest
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/faultline-go/faultline/adapters/tarx"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("unpack", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: unpack [-replace] [-sync] [-v] archive|- dest")
		fs.PrintDefaults()
	}
	var opts tarx.Options
	fs.BoolVar(&opts.Replace, "replace", false, "replace dest if it exists")
	fs.BoolVar(&opts.Sync, "sync", false, "fsync the tree before it is moved into place")
	verbose := fs.Bool("v", false, "print what was unpacked")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return 2
	}
	in := stdin
	if name := fs.Arg(0); name != "-" {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintln(stderr, "unpack:", err)
			return 1
		}
		defer f.Close()
		in = f
	}
	// tarx buffers its input itself.
	st, err := tarx.Extract(ctx, in, fs.Arg(1), opts)
	if err != nil {
		fmt.Fprintln(stderr, "unpack:", err)
		return 1
	}
	if *verbose {
		fmt.Fprintf(stdout, "%s: %d entries, %d files, %d dirs, %d symlinks, %d hard links, %d bytes from %d\n",
			st.Format, st.Entries, st.Files, st.Dirs, st.Symlinks, st.Hardlinks, st.Bytes, st.Input)
	}
	return 0
}
