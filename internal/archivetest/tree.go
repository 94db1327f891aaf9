package archivetest

import (
	"archive/tar"
	"fmt"
	"math/rand/v2"
	"path"
	"slices"
	"strings"
	"time"
)

// Tree returns a deterministic tree of about nFiles regular files holding
// about totalBytes in all, shaped like a software distribution: nested
// directories (one read-only, one private), files of skewed sizes (a few
// large, many small, some empty), mostly compressible text with some
// incompressible runs, assorted modes, symlinks to files and directories
// within the tree (same directory and "../"), hard links, names longer than
// the 100 bytes a ustar header holds (written as PAX and GNU long names),
// and non-ASCII names. Entries are in depth-first order, as tar writes
// them; hard links follow their targets.
func Tree(seed uint64, nFiles int, totalBytes int64) []Entry {
	g := &treeGen{
		rng:   rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		words: strings.Fields(vocabulary),
	}
	return g.tree(max(nFiles, 1), max(totalBytes, 0))
}

type treeGen struct {
	rng   *rand.Rand
	words []string
}

// vocabulary is the text files are made of.
const vocabulary = `the of and lib include share bin python3 site packages
	module import def return class self init config value error retry resume
	fail stream archive header block offset window checksum 0 1 2 42 1024 {} () [] = ;`

func (g *treeGen) mtime() time.Time {
	base := time.Date(2021, 3, 4, 0, 0, 0, 0, time.UTC)
	return base.Add(time.Duration(g.rng.IntN(3*365*24*3600)) * time.Second)
}

func (g *treeGen) tree(nFiles int, totalBytes int64) []Entry {
	var out []Entry
	// Directories: a handful at the top, the rest nested under earlier ones.
	nDirs := max(2, nFiles/15)
	dirs := make([]string, 0, nDirs)
	for i := range nDirs {
		name := fmt.Sprintf("d%03d", i)
		switch i % 17 {
		case 5:
			name = fmt.Sprintf("données-%03d", i)
		case 11:
			name = fmt.Sprintf("a-rather-long-directory-name-to-push-paths-past-one-hundred-bytes-%03d", i)
		}
		if i >= 3 {
			parent := dirs[g.rng.IntN(len(dirs))]
			if strings.Count(parent, "/") < 4 {
				name = parent + "/" + name
			}
		}
		dirs = append(dirs, name)
		mode := int64(0o755)
		switch i {
		case 1:
			mode = 0o700
		case 2:
			mode = 0o555 // read-only: its contents must be written first
		}
		out = append(out, Entry{Name: name, Type: tar.TypeDir, Mode: mode, ModTime: g.mtime(), Format: longFormat(name, i)})
	}

	// File sizes: squared exponentials give a few large files and many
	// small ones; scale them to totalBytes.
	weights := make([]float64, nFiles)
	var sum float64
	for i := range weights {
		w := g.rng.ExpFloat64()
		weights[i] = w * w
		if i%29 == 7 {
			weights[i] = 0 // some empty files
		}
		sum += weights[i]
	}
	var files []string
	for i := range nFiles {
		size := int64(0)
		if sum > 0 {
			size = int64(weights[i] / sum * float64(totalBytes))
		}
		dir := dirs[g.rng.IntN(len(dirs))]
		base := fmt.Sprintf("f%05d.%s", i, []string{"py", "so", "txt", "json", "h", "dat"}[i%6])
		if i%41 == 13 {
			base = strings.Repeat("long-file-name-", 8) + base // > 100 bytes by itself
		}
		name := dir + "/" + base
		mode := int64(0o644)
		switch i % 10 {
		case 3:
			mode = 0o755
		case 6:
			mode = 0o600
		case 8:
			mode = 0o444
		}
		files = append(files, name)
		out = append(out, Entry{Name: name, Type: tar.TypeReg, Mode: mode, ModTime: g.mtime(), Data: g.content(size), Format: longFormat(name, i)})
	}

	// Symlinks: to a file in the same directory, to a file elsewhere by a
	// "../" path, and to a directory.
	for i := range max(1, nFiles/50) {
		target := files[g.rng.IntN(len(files))]
		dir := dirs[g.rng.IntN(len(dirs))]
		if i%3 == 0 {
			dir = path.Dir(target)
		}
		if i%3 == 2 {
			target = dirs[g.rng.IntN(len(dirs))]
		}
		name := fmt.Sprintf("%s/link%03d", dir, i)
		out = append(out, Entry{Name: name, Type: tar.TypeSymlink, Mode: 0o777, ModTime: g.mtime(), Linkname: relative(path.Dir(name), target), Format: longFormat(name, i)})
	}
	// Real archives list a directory's whole subtree right after it, and
	// extractors that apply a directory's time when they leave it (GNU
	// tar) rely on that; so sort depth-first, comparing by component.
	slices.SortStableFunc(out, func(a, b Entry) int { return compareComponents(a.Name, b.Name) })

	// Hard links, each to a regular file that sorts before it.
	for i := range max(1, nFiles/50) {
		name := fmt.Sprintf("%s/hard%03d", dirs[g.rng.IntN(len(dirs))], i)
		var earlier []string
		for _, f := range files {
			if compareComponents(f, name) < 0 {
				earlier = append(earlier, f)
			}
		}
		if len(earlier) == 0 {
			continue
		}
		target := earlier[g.rng.IntN(len(earlier))]
		out = append(out, Entry{Name: name, Type: tar.TypeLink, Linkname: target, ModTime: g.mtime(), Format: longFormat(name+target, i)})
	}
	slices.SortStableFunc(out, func(a, b Entry) int { return compareComponents(a.Name, b.Name) })
	return out
}

// compareComponents orders slash-separated paths depth-first: by their
// first component, then the rest.
func compareComponents(a, b string) int {
	for a != "" && b != "" {
		var ea, eb string
		ea, a, _ = strings.Cut(a, "/")
		eb, b, _ = strings.Cut(b, "/")
		if c := strings.Compare(ea, eb); c != 0 {
			return c
		}
	}
	return strings.Compare(a, b)
}

// longFormat picks PAX or GNU, alternately, for names ustar cannot hold.
func longFormat(name string, i int) tar.Format {
	if len(name) <= 100 {
		return 0
	}
	if i%2 == 0 {
		return tar.FormatPAX
	}
	return tar.FormatGNU
}

// relative returns the path from directory from to target, both relative
// to the tree's root: leading "../" then names, as honest archives do.
func relative(from, target string) string {
	f := strings.Split(from, "/")
	t := strings.Split(target, "/")
	if from == "." {
		f = nil
	}
	i := 0
	for i < len(f) && i < len(t) && f[i] == t[i] {
		i++
	}
	up := strings.Repeat("../", len(f)-i)
	rest := strings.Join(t[i:], "/")
	if rest == "" {
		if up == "" {
			return "."
		}
		return strings.TrimSuffix(up, "/")
	}
	return up + rest
}

// content returns n bytes: mostly word text, which compresses about 3:1
// like source code, with runs of random bytes, which do not compress.
func (g *treeGen) content(n int64) []byte {
	b := make([]byte, 0, n)
	for int64(len(b)) < n {
		if g.rng.IntN(2000) == 0 {
			run := min(n-int64(len(b)), int64(512+g.rng.IntN(4096)))
			for range run {
				b = append(b, byte(g.rng.Uint32()))
			}
			continue
		}
		w := g.words[g.rng.IntN(len(g.words))]
		b = append(b, w...)
		if g.rng.IntN(12) == 0 {
			b = append(b, '\n')
		} else {
			b = append(b, ' ')
		}
	}
	return b[:n]
}
