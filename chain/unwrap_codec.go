package chain

import (
	"archive/tar"
	"archive/zip"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"

	"github.com/klauspost/compress/zstd"
)

// unwrapCodec marks decoder and archive errors with their format, so that
// a corrupt stream is told apart from the transport failure that cut it
// short. klauspost/compress's flate, gzip and zlib reuse the standard
// library's error values and types.
func unwrapCodec(err error, a *Attrs) (error, bool) {
	if e, ok := err.(flate.CorruptInputError); ok {
		a.Format, a.Offset, a.Kind = "flate", int64(e), "decode"
		return nil, true
	}
	switch err {
	case gzip.ErrChecksum:
		a.Format, a.Kind = "gzip", "checksum"
	case gzip.ErrHeader:
		a.Format, a.Kind = "gzip", "decode"
	case zlib.ErrChecksum:
		a.Format, a.Kind = "zlib", "checksum"
	case zlib.ErrHeader, zlib.ErrDictionary:
		a.Format, a.Kind = "zlib", "decode"
	case zstd.ErrCRCMismatch:
		a.Format, a.Kind = "zstd", "checksum"
	case zstd.ErrMagicMismatch, zstd.ErrReservedBlockType, zstd.ErrCompressedSizeTooBig,
		zstd.ErrBlockTooSmall, zstd.ErrUnexpectedBlockSize, zstd.ErrWindowSizeTooSmall,
		zstd.ErrUnknownDictionary, zstd.ErrFrameSizeMismatch:
		a.Format, a.Kind = "zstd", "decode"
	case zstd.ErrWindowSizeExceeded, zstd.ErrDecoderSizeExceeded, zstd.ErrFrameSizeExceeded:
		// Limits the decoder was configured with, not corruption.
		a.Format, a.Kind = "zstd", "limit"
	case tar.ErrHeader:
		a.Format, a.Kind = "tar", "archive"
	case tar.ErrInsecurePath:
		a.Format, a.Kind = "tar", "unsafe_archive"
	case zip.ErrFormat, zip.ErrAlgorithm:
		a.Format, a.Kind = "zip", "archive"
	case zip.ErrChecksum:
		a.Format, a.Kind = "zip", "checksum"
	case zip.ErrInsecurePath:
		a.Format, a.Kind = "zip", "unsafe_archive"
	default:
		return nil, false
	}
	return nil, true
}
