// Package tarx unpacks archives — tar, plain or compressed with gzip, zstd,
// xz or bzip2, and zip — from a stream, safely and atomically.
//
// Extract reads the archive once, front to back, so it can consume an HTTP
// body as it arrives. The format is detected from the first bytes, never
// from a name: gzip (1f 8b), zstd (28 b5 2f fd, or a skippable frame), xz
// (fd 37 7a 58 5a 00), bzip2 ("BZh" and a digit), zip ("PK\x03\x04", or
// "PK\x05\x06" for an empty one), or plain tar, recognised by its first
// header's magic or checksum. Anything else is refused with ErrFormat and a
// message that says what the data looks like — "not an archive: the data
// starts with an HTML page", for a login page served instead of the file.
//
// xz is read by tarx itself, container and checks, with ulikunitz/xz
// decoding the LZMA2 data of each block: every block's dictionary is
// bounded by Limits.Window before it is allocated (xz's own reader takes a
// block header's word for it), and every check is verified — the stream
// header and footer, each block's CRC-32, CRC-64 or SHA-256, and the index
// against the blocks read. Filters other than LZMA2 are refused. bzip2 is
// the standard library's decoder; its memory is bounded by the format (a
// block is at most 900 kB).
//
// # Zip
//
// A zip is unpacked as it streams, from its local headers, each entry's
// CRC-32 and sizes verified as its data ends (sizes in the local header or
// in a data descriptor after the data; ZIP64 fields). The central
// directory, at the end, is then checked against what was unpacked — every
// name, CRC-32, size, method and offset, the count, the directory's own
// size and offset, the ZIP64 end records — before the rename: any
// disagreement (an entry the directory does not list, one it lists at an
// offset where none begins, two directory entries for the same data as in
// the overlapping-file bomb, a different name or size) is ErrUnsafe, and
// nothing reaches the destination. Modes and symlinks come from the
// central directory's external attributes (a zip made on Unix; others get
// 0644 and 0755), so entries are first written as files and given their
// modes, or turned into symlinks, once the directory is checked. Names
// with backslashes or drive letters, duplicate names, and paths through an
// earlier entry (which may turn out to be a symlink) are ErrUnsafe, as
// are device entries. Stored, deflate, bzip2 and zstd entries are read.
//
// What cannot be streamed is refused with ErrFormat, clearly: encrypted
// entries, multi-disk archives, and an entry whose size is known only
// from the central directory — a stored (or bzip2 or zstd) entry with a
// data descriptor, whose end cannot be found without the size. Such a zip
// must be downloaded first and unpacked from disk.
//
// # Atomicity
//
// Entries are written into a staging directory created next to the
// destination (same file system), named
//
//	.<dest>.faultline-staging-<pid>-<random>/tree
//
// Only after the whole archive has been read, the tar end-of-archive marker
// seen, and the decompressor drained to its end so that the gzip CRC-32 or
// the zstd checksum is verified, is the tree renamed into place. On any
// failure the staging directory is removed — however deep the tree and
// whatever modes the archive gave it, holding one directory open at a time
// — and the destination is exactly as it was. If Extract's process is killed, the next Extract into the same
// parent directory removes the leftover (see CleanStale).
//
// An existing destination is refused with ErrExist (kind "exists"), before
// reading and again, atomically, at the rename — the loser of two
// extractions racing to one destination gets it too — unless Options.Replace is
// set. With Replace, on Linux the new tree and the old destination are
// swapped in one renameat2(RENAME_EXCHANGE) and the old tree is then removed;
// elsewhere the old destination is renamed aside first, so a crash at the
// wrong moment can leave no destination at all (the old tree stays in the
// staging directory until the next cleanup).
//
// # Safety
//
// Every write goes through an os.Root opened on the staging tree, so a path
// that escapes fails at the system-call boundary, and tarx checks each entry
// first so the failure names the attack. Refused with ErrUnsafe (classified
// as "unsafe_archive"):
//
//   - absolute names and names with a ".." component;
//   - entries whose path passes through a symlink created earlier in the
//     archive, and hard links to such symlinks;
//   - symlinks whose target is absolute, climbs above the tree, or has ".."
//     after a name ("x/../.."): such a target can leave the tree once x is
//     itself a symlink, whatever the order of entries;
//   - hard links to names outside the tree;
//   - character and block devices and FIFOs.
//
// Setuid and setgid bits are dropped, and the sticky bit on files; a
// directory keeps its sticky bit. Ownership is not restored.
//
// # Bounds
//
// Every part of an archive is bounded, and exceeding a bound fails with
// ErrLimit (classified as "limit"). Options.Limits holds the adjustable ones,
// whose zero value applies generous defaults that still stop bombs:
//
//	Entries    1,048,576  entries, counting directories made for paths
//	FileSize   16 GiB     one file, logical size for sparse files
//	TotalSize  64 GiB     all files, logical sizes
//	Ratio      1000:1     unpacked to compressed bytes, sparse holes counted,
//	                      from RatioFloor (4 MiB) unpacked on
//	Depth      256        components in an entry's path
//	Name       4096 B     an entry name or link target
//	Metadata   64 MiB     names, modes and times kept to the end
//	                      (each name counted as its length + MetadataOverhead)
//	Window     128 MiB    a decoder's window (zstd) or dictionary (xz)
//
// Fixed bounds, which no honest archive comes near: MaxHeader (1 MiB) for an
// entry's extended header — its PAX records, a GNU long name, an encoded
// sparse map; MaxTrailing (4 MiB) uncompressed and MaxTrailingInput (4 MiB)
// compressed bytes after the end-of-archive marker; MaxIdleInput (4 MiB) of
// compressed input that decompresses to nothing, anywhere (empty gzip
// members, zstd skippable frames). Options.Timeout bounds the wall time.
//
// So the memory an extraction uses does not depend on what the archive
// holds beyond these bounds: two 256 KiB buffers, the decoder's window, one
// extended header at a time, and the kept metadata. The README gives the
// peak measured for the worst archive built for it.
//
// # What is kept
//
// Regular files with their permission bits and modification times;
// directories, whose modes and times are applied after their contents;
// symlinks and hard links within the tree; PAX and GNU long names; sparse
// files, whose holes stay holes. The archive root's ("./") mode and times
// are applied to the destination after the rename, so that a read-only
// root can still be moved into place by an unprivileged owner. Symlink
// times are not restored.
//
// # Errors
//
// Every error Extract returns is an *Error. It names the entry being unpacked
// ("unpacking python/lib/libpython3.so: …") and wraps its cause, so a
// transport failure that surfaced through the decompressor and the tar reader
// is still reachable with errors.Is and errors.As. *Error implements
// chain.Describer, so the chain walker records the entry, the format, the
// compressed offset reached and a kind: unsafe_archive, limit or checksum
// when tarx detected one, otherwise archive, under which classify lets a
// deeper cause decide — a reset stays connection_reset, marked
// caused_by_transport.
//
// # Durability and cancellation
//
// By default nothing is fsynced: an unpack is cheap to redo and most callers
// prefer speed. With Options.Sync, every file is fsynced as it is closed and
// every directory before the rename, and the parent directory after it.
//
// Extract checks ctx between entries and between chunks of file data. A Read
// blocked inside r is not interrupted; pass a reader tied to ctx, such as the
// body of an HTTP response to a request made with ctx.
package tarx
