// Command mkarchive writes a deterministic archive of a generated tree
// (archivetest.Tree) for benchmarks:
//
//	mkarchive -seed 1 -files 3000 -bytes 150000000 -format gzip -o tree.tar.gz
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/faultline-go/faultline/internal/archivetest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mkarchive", flag.ContinueOnError)
	fs.SetOutput(stderr)
	seed := fs.Uint64("seed", 1, "generator seed")
	files := fs.Int("files", 3000, "number of regular files")
	size := fs.Int64("bytes", 150_000_000, "total bytes of file content")
	format := fs.String("format", "gzip", "tar, gzip or zstd")
	out := fs.String("o", "", "output file (default: stdout)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	w := stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintln(stderr, "mkarchive:", err)
			return 1
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	if err := archivetest.Write(bw, archivetest.Format(*format), archivetest.Tree(*seed, *files, *size)); err != nil {
		fmt.Fprintln(stderr, "mkarchive:", err)
		return 1
	}
	if err := bw.Flush(); err != nil {
		fmt.Fprintln(stderr, "mkarchive:", err)
		return 1
	}
	return 0
}
