package tarx_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"

	"github.com/faultline-go/faultline/adapters/tarx"
)

func ExampleExtract() {
	// A small tar.gz, as a download would deliver it.
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, f := range []struct{ name, body string }{
		{"python/bin/python3", "#!/bin/sh\n"},
		{"python/lib/libpython3.so", "\x7fELF"},
	} {
		_ = tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o755, Size: int64(len(f.body))})
		_, _ = tw.Write([]byte(f.body))
	}
	_ = tw.Close()
	_ = zw.Close()

	dir, err := os.MkdirTemp("", "tarx-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	dest := filepath.Join(dir, "python-3.12")

	st, err := tarx.Extract(context.Background(), &buf, dest, tarx.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %d files, %d bytes\n", st.Format, st.Files, st.Bytes)
	_ = filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(dest, p)
			fmt.Println(filepath.ToSlash(rel))
		}
		return nil
	})

	// A second Extract to the same place is refused: dest exists.
	_, err = tarx.Extract(context.Background(), bytes.NewReader(nil), dest, tarx.Options{})
	fmt.Println(errors.Is(err, tarx.ErrExist))
	// Output:
	// gzip: 2 files, 14 bytes
	// python/bin/python3
	// python/lib/libpython3.so
	// true
}
