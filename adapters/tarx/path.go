package tarx

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"
)

// localName validates an entry name and returns it cleaned, slash-separated
// and relative ("." for the archive's root). It is the early check; os.Root
// enforces the same at the system-call boundary.
func localName(name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("%w: empty name", errArchive)
	}
	if path.IsAbs(name) || filepath.IsAbs(name) {
		return "", fmt.Errorf("%w: absolute path %q", ErrUnsafe, name)
	}
	if hasDotDot(name) {
		return "", fmt.Errorf("%w: path %q has a \"..\" component", ErrUnsafe, name)
	}
	clean := path.Clean(name)
	if clean != "." && !filepath.IsLocal(filepath.FromSlash(clean)) {
		return "", fmt.Errorf("%w: path %q is not local", ErrUnsafe, name)
	}
	return clean, nil
}

func hasDotDot(name string) bool {
	for name != "" {
		var elem string
		elem, name, _ = strings.Cut(name, "/")
		if elem == ".." {
			return true
		}
	}
	return false
}

// checkSymlink refuses a symlink at name (cleaned, local) whose target could
// lead out of the tree. The rule is stricter than a lexical check on purpose:
// "x/../.." is lexically inside when x is a directory but not when x is a
// symlink to ".", and a later entry can make it one. So ".." may only lead
// the target, where it climbs through real directories (tarx refuses entries
// through symlinks, so every ancestor of name is real), and it may not climb
// above the tree. Every other component descends, into a real directory or
// into another symlink that obeys the same rule.
func checkSymlink(name, target string) error {
	if target == "" {
		return fmt.Errorf("%w: symlink with an empty target", errArchive)
	}
	if path.IsAbs(target) || filepath.IsAbs(target) {
		return fmt.Errorf("%w: symlink to absolute path %q", ErrUnsafe, target)
	}
	depth := strings.Count(name, "/") // directories between the tree's root and the link
	up, named := 0, false
	for t := target; t != ""; {
		var elem string
		elem, t, _ = strings.Cut(t, "/")
		switch elem {
		case "", ".":
		case "..":
			if named {
				return fmt.Errorf("%w: symlink target %q has \"..\" after a name", ErrUnsafe, target)
			}
			up++
			if up > depth {
				return fmt.Errorf("%w: symlink target %q leaves the tree", ErrUnsafe, target)
			}
		default:
			named = true
		}
	}
	return nil
}
