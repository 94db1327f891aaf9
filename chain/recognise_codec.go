package chain

import (
	"strconv"
	"strings"
)

// "flate: corrupt input before offset 1234"
func recogniseFlate(t text, a *Attrs) bool {
	s := t.s
	v, ok := strings.CutPrefix(s, "flate: corrupt input before offset ")
	if !ok {
		return false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return false
	}
	a.Format, a.Offset = "flate", n
	setKind(a, "decode")
	return true
}

// codecTexts are the texts of the decoder and archive sentinels:
// compress/gzip, compress/zlib, archive/tar, archive/zip,
// klauspost/compress/zstd (whose sentinels carry no package prefix), and
// the texts uv and reqwest print around them.
var codecTexts = [...]struct{ text, format, kind string }{
	{"gzip: invalid checksum", "gzip", "checksum"},
	{"gzip: invalid header", "gzip", "decode"},
	{"zlib: invalid checksum", "zlib", "checksum"},
	{"zlib: invalid header", "zlib", "decode"},
	{"zlib: invalid dictionary", "zlib", "decode"},
	{"archive/tar: invalid tar header", "tar", "archive"},
	{"archive/tar: header field too long", "tar", "archive"},
	{"archive/tar: insecure file path", "tar", "unsafe_archive"},
	{"zip: not a valid zip file", "zip", "archive"},
	{"zip: unsupported compression algorithm", "zip", "archive"},
	{"zip: checksum error", "zip", "checksum"},
	{"zip: insecure file path", "zip", "unsafe_archive"},
	{"CRC check failed", "zstd", "checksum"},
	{"invalid input: magic number mismatch", "zstd", "decode"},
	{"invalid input: reserved block type encountered", "zstd", "decode"},
	{"invalid input: compressed size too big", "zstd", "decode"},
	{"invalid input: window size was too small", "zstd", "decode"},
	{"Invalid tar file", "tar", "archive"},
	{"error decoding response body", "", "decode"},
}

func recogniseCodecSentinel(t text, a *Attrs) bool {
	s := t.s
	for _, c := range codecTexts {
		if s == c.text {
			if c.format != "" && a.Format == "" {
				a.Format = c.format
			}
			setKind(a, c.kind)
			return true
		}
	}
	return false
}

// formats are the names decoders and extractors go by, which Go's
// convention puts at the start of their errors ("gzip: …", "tar.gz: …").
var formats = [...]string{"gzip", "tar", "tar.gz", "tgz", "tar.zst", "zstd", "flate", "zlib", "zip", "xz", "tar.xz",
	"archive/tar", "archive/zip"}

// formatKind says whether a format is an archive (a container of
// entries), "archive", or a plain stream encoding, "decode".
func formatKind(format string) string {
	if strings.HasPrefix(format, "tar") || format == "tgz" || format == "zip" || format == "7z" {
		return "archive"
	}
	return "decode"
}

// "tar.gz: reading \"lib/x\": …", a format named alone ("gzip", the head
// of "gzip: …" split from its cause), an extractor's "failed to unpack
// `x`" (whose quoted text is the entry), and "error decoding …".
func recogniseCodecPrefix(t text, a *Attrs) bool {
	s := t.s
	head, rest, _ := strings.Cut(s, ": ")
	for _, f := range formats {
		if head == f {
			format := strings.TrimPrefix(f, "archive/")
			if a.Format == "" {
				a.Format = format
			}
			if a.Entry == "" {
				a.Entry = quoted(rest)
			}
			setKind(a, formatKind(format))
			return true
		}
	}
	for _, p := range [...]string{"failed to unpack", "failed to extract", "unpack ", "extract "} {
		if hasPrefixFold(s, p) {
			if a.Entry == "" {
				a.Entry = quoted(s[len(p):])
			}
			setKind(a, "archive")
			return true
		}
	}
	if hasPrefixFold(s, "error decoding") || hasPrefixFold(s, "failed to decode") {
		setKind(a, "decode")
		return true
	}
	return false
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
