//go:build !linux

package tarx

import (
	"errors"
	"os"
)

var errUnsupported = errors.New("tarx: atomic rename not supported here")

func renameNoReplace(from, to string) error {
	// Without renameat2 a check then a rename is the best available; the
	// window between them is small.
	if _, err := os.Lstat(to); err == nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: os.ErrExist}
	}
	return os.Rename(from, to)
}

func renameExchange(from, to string) error { return errUnsupported }
