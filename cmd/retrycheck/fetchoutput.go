package main

import (
	"context"
	"errors"
	"io"

	"github.com/faultline-go/faultline/adapters/filex"
	"github.com/faultline-go/faultline/adapters/httpx"
)

// formatFile is the summary's format for a download kept as a file.
const formatFile = "file"

// resolveTarget checks that exactly one of --to and --output names where
// the download goes; with --output, the rest of fetch reads the path from
// to and knows it is a file. It returns a usage message, or "".
func (f *fetchFlags) resolveTarget() string {
	switch {
	case f.to != "" && f.output != "":
		return "--to and --output exclude each other: unpack into a directory, or keep the file as it is"
	case f.output != "":
		f.to, f.file = f.output, true
	case f.to == "":
		return "--to DIR or --output FILE is required"
	}
	return ""
}

// consumeFile writes one pass over the body to the file: beside it first,
// fsynced, renamed into place once the whole body has arrived and been
// verified. After a restart it runs again from byte 0; the first pass's
// temporary file is gone by then.
func (f *fetcher) consumeFile(ctx context.Context, r io.Reader) error {
	total := int64(-1)
	if s, ok := r.(interface{ Size() int64 }); ok {
		total = s.Size()
	}
	f.prog.pass(total)
	st, err := filex.Write(ctx, f.prog.reader(r), f.dest, filex.Options{Replace: f.replace})
	f.stats.Format, f.stats.Bytes = formatFile, st.Bytes
	if err == nil {
		f.stats.Files = 1
	}
	if fe := (*filex.Error)(nil); errors.As(err, &fe) && (fe.Op == "committing" || fe.Op == "preparing") {
		// The download was fine, or never started; the file system said
		// no.
		return httpx.Commit(err)
	}
	return err
}
