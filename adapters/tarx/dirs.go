package tarx

import (
	"slices"
	"strings"
)

// sortDeepestFirst orders directories by depth, deepest first, keeping
// archive order among equals so a later entry for the same directory wins.
// The root "." sorts last.
func sortDeepestFirst(ds []dirMeta) {
	slices.SortStableFunc(ds, func(a, b dirMeta) int { return depth(b.name) - depth(a.name) })
}

func depth(name string) int {
	if name == "." {
		return -1
	}
	return strings.Count(name, "/")
}
