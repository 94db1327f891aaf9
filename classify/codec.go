package classify

import "strings"

// formatKind says whether a format is an archive (a container of entries)
// or a plain stream encoding.
func formatKind(format string) Kind {
	if strings.HasPrefix(format, "tar") || format == "tgz" || format == "zip" || format == "7z" {
		return Archive
	}
	return Decode
}
