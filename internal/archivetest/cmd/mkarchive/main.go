// Command mkarchive writes a deterministic archive of a generated tree
// (archivetest.Tree) for benchmarks:
//
//	mkarchive -seed 1 -files 3000 -bytes 150000000 -format gzip -o tree.tar.gz
//
// or one of the adversarial suite's archives (archivetest.Attacks), to
// measure an extractor against it:
//
//	mkarchive -attack pax-on-3000-directories -o bomb.tar.zst
//	mkarchive -attack list
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
	format := fs.String("format", "gzip", "tar, gzip, zstd, xz (ulikunitz/xz), xz-cli (the xz tool), bzip2 (the bzip2 tool) or zip")
	out := fs.String("o", "", "output file (default: stdout)")
	attack := fs.String("attack", "", "write the adversarial archive `NAME` instead (\"list\" lists them)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *attack == "list" {
		for _, a := range archivetest.Attacks() {
			kind := a.Kind
			if kind == "" {
				kind = "within bounds"
			}
			fmt.Fprintf(stdout, "%-32s %-5s %s\n", a.Name, a.Format, kind)
		}
		return 0
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
	var err error
	switch {
	case *attack != "":
		err = writeAttack(bw, *attack)
	case *format == "zip":
		err = writeZip(bw, archivetest.Tree(*seed, *files, *size))
	default:
		err = archivetest.Write(bw, archivetest.Format(*format), archivetest.Tree(*seed, *files, *size))
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		fmt.Fprintln(stderr, "mkarchive:", err)
		return 1
	}
	return 0
}

// writeZip writes tree as a zip the way a streaming writer makes one:
// deflate, data descriptors.
func writeZip(w io.Writer, tree []archivetest.Entry) error {
	zs, _ := archivetest.ZipTree(tree, archivetest.ZipDeflate, true)
	data, err := archivetest.Zip(zs, archivetest.ZipOptions{})
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}

// writeAttack writes the named attack's archive; an endless one is written
// with 64 MiB of its tail.
func writeAttack(w io.Writer, name string) error {
	for _, a := range archivetest.Attacks() {
		if a.Name != name {
			continue
		}
		data, err := a.Build()
		if err != nil {
			return err
		}
		if _, err := w.Write(data); err != nil {
			return err
		}
		for n := 0; a.Tail != nil && n < 64<<20; n += len(a.Tail) {
			if _, err := w.Write(a.Tail); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("no attack named %q (-attack list lists them)", name)
}
