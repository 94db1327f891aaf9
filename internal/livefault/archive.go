package livefault

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"math/rand/v2"
)

// The entries of the test archive: the layout of the Python build whose
// download failed in uv issue 14171. The contents are random letters from a
// 16-letter alphabet: deflate codes them with Huffman blocks (so a flipped
// byte breaks decoding instead of passing silently through a stored block)
// at about half their size, so a cut lands mid-entry.
var archiveEntries = [...]struct {
	name string
	size int
}{
	{"python/bin/python3.10", 96 << 10},
	{"python/lib/libpython3.10.so", 96 << 10},
	{"python/lib/python3.10/os.py", 48 << 10},
	{"python/include/python3.10/Python.h", 16 << 10},
}

// Archive returns a deterministic tar.gz of about 130 KiB.
func Archive() []byte {
	rng := rand.New(rand.NewPCG(14171, 2025))
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range archiveEntries {
		data := make([]byte, e.size)
		for i := range data {
			data[i] = 'a' + byte(rng.Uint32()%16)
		}
		hdr := &tar.Header{Name: e.name, Mode: 0o755, Size: int64(e.size), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			panic(err) // writing to memory cannot fail
		}
		if _, err := tw.Write(data); err != nil {
			panic(err)
		}
	}
	if err := tw.Close(); err != nil {
		panic(err)
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// corruptArchive returns the archive with eight bytes flipped inside the
// deflate stream, in the second entry. Where a flip lands decides whether
// deflate notices at all (it may decode garbage that tar then rejects);
// this offset was chosen because decoding stops there with
// flate.CorruptInputError, and the archive is deterministic.
func corruptArchive() []byte {
	const at = 54862
	a := Archive()
	for i := at; i < at+8; i++ {
		a[i] ^= 0xA5
	}
	return a
}

// badChecksumArchive returns the archive with its gzip CRC-32 altered: every
// byte decodes, and only a reader that drains gzip past tar's end notices.
func badChecksumArchive() []byte {
	a := Archive()
	a[len(a)-8] ^= 0xFF
	return a
}

// truncatedArchive returns the first 60% of the archive: cut at the
// source, then delivered in full with a matching Content-Length.
func truncatedArchive() []byte {
	a := Archive()
	return a[:len(a)*6/10]
}

// badTarArchive returns a gzip stream whose content is not a tar archive.
func badTarArchive() []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	junk := bytes.Repeat([]byte("this is not a tar header. "), 64)
	if _, err := zw.Write(junk); err != nil {
		panic(err)
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}
