package classify

import (
	"strconv"
	"strings"
)

// codecExact classifies the fixed messages of decoders and archive readers
// (compress/gzip, compress/zlib, archive/tar, archive/zip,
// klauspost/compress/zstd, and the anyhow-style texts of uv and reqwest),
// and reports whether s was one of them.
func codecExact(s string, in *layerInfo) bool {
	switch s {
	case "gzip: invalid header":
		in.setCodec(Decode, "gzip")
	case "gzip: invalid checksum":
		in.setCodec(Checksum, "gzip")
	case "zlib: invalid header", "zlib: invalid dictionary":
		in.setCodec(Decode, "zlib")
	case "zlib: invalid checksum":
		in.setCodec(Checksum, "zlib")
	case "archive/tar: invalid tar header", "archive/tar: header field too long":
		in.setCodec(Archive, "tar")
	case "archive/tar: insecure file path":
		in.setCodec(UnsafeArchive, "tar")
	case "zip: not a valid zip file", "zip: unsupported compression algorithm":
		in.setCodec(Archive, "zip")
	case "zip: checksum error":
		in.setCodec(Checksum, "zip")
	case "zip: insecure file path":
		in.setCodec(UnsafeArchive, "zip")
	case "CRC check failed", "invalid input: magic number mismatch",
		"invalid input: reserved block type encountered", "invalid input: compressed size too big",
		"invalid input: window size was too small":
		// klauspost/compress/zstd's sentinels carry no package prefix.
		if s == "CRC check failed" {
			in.setCodec(Checksum, "zstd")
		} else {
			in.setCodec(Decode, "zstd")
		}
	case "Invalid tar file":
		in.setCodec(Archive, "tar")
	case "error decoding response body":
		in.setKind(Decode)
	case "gzip", "tar", "tar.gz", "tgz", "tar.zst", "zstd", "flate", "zlib", "zip", "xz", "tar.xz":
		// A format named alone: the head of "tar.gz: …" split from its
		// cause.
		in.setCodec(formatKind(s), s)
	default:
		return false
	}
	return true
}

// codecPrefix classifies parameterised decoder and extractor messages, and
// reports whether it found one.
func codecPrefix(s string, in *layerInfo) bool {
	const flateCorrupt = "flate: corrupt input before offset "
	if strings.HasPrefix(s, flateCorrupt) {
		in.setCodec(Decode, "flate")
		if in.offset == 0 {
			if n, err := strconv.ParseInt(s[len(flateCorrupt):], 10, 64); err == nil {
				in.offset = n
			}
		}
		return true
	}
	// Go's convention: a package prefixes its errors with its name.
	if head, rest, ok := strings.Cut(s, ": "); ok {
		switch head {
		case "gzip", "tar", "tar.gz", "tgz", "tar.zst", "zstd", "flate", "zlib", "zip", "xz",
			"tar.xz", "archive/tar", "archive/zip":
			format := strings.TrimPrefix(head, "archive/")
			in.setCodec(formatKind(format), format)
			in.entry = orString(in.entry, quoted(rest))
			return true
		}
	}
	for _, p := range [...]string{"failed to unpack", "failed to extract", "unpack ", "extract "} {
		if hasPrefixFold(s, p) {
			in.setKind(Archive)
			in.entry = orString(in.entry, quoted(s[len(p):]))
			return true
		}
	}
	if hasPrefixFold(s, "error decoding") || hasPrefixFold(s, "failed to decode") {
		in.setKind(Decode)
		return true
	}
	return false
}

// setCodec records a decoder kind and its format.
func (in *layerInfo) setCodec(k Kind, format string) {
	in.format = orString(in.format, format)
	in.setKind(k)
}

// formatKind says whether a format is an archive (a container of entries)
// or a plain stream encoding.
func formatKind(format string) Kind {
	if strings.HasPrefix(format, "tar") || format == "tgz" || format == "zip" || format == "7z" {
		return Archive
	}
	return Decode
}

// quoted returns the first token quoted with "…", `…` or '…' in s: the
// archive entry of an extractor's message, by convention.
func quoted(s string) string {
	i := strings.IndexAny(s, "\"`'")
	if i < 0 {
		return ""
	}
	q := s[i]
	j := strings.IndexByte(s[i+1:], q)
	if j < 0 {
		return ""
	}
	return s[i+1 : i+1+j]
}

// hasPrefixFold is strings.HasPrefix ignoring ASCII case.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
