package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultline-go/faultline/faulttest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// helpExample is one "$ command" line of a help text and the output shown
// under it, if any.
type helpExample struct {
	line string
	want []string
}

// helpExamples extracts the examples of a help text: every tab-indented
// line starting with "$ ", followed by the tab-indented lines of output
// it shows.
func helpExamples(help string) []helpExample {
	var out []helpExample
	collecting := false // the lines that follow an example are its output
	for line := range strings.SplitSeq(help, "\n") {
		body, indented := strings.CutPrefix(line, "\t")
		switch {
		case !indented || body == "" || strings.HasPrefix(body, "\t"):
			collecting = false // prose, a blank line, a flag's description
		case strings.HasPrefix(body, "$ "):
			out = append(out, helpExample{line: strings.TrimPrefix(body, "$ ")})
			collecting = true
		case collecting:
			out[len(out)-1].want = append(out[len(out)-1].want, body)
		}
	}
	return out
}

// TestHelpExamples runs every example of every command's help as written,
// in a fresh empty directory per command, in order, so that the examples
// work anywhere and not only inside this repository. The lines are run
// as a shell would: "retrycheck" is run in-process; echo, printf and mkdir
// are understood; "|" feeds the output of echo or printf to retrycheck;
// "> FILE" writes standard output to FILE; a word with "*" is expanded as
// a glob. Each line must succeed, and where the help shows output, the
// output must be exactly that.
//
// One substitution: https://example.com, which the fetch examples name
// as the server, is a faulttest server on 127.0.0.1 that serves the demo
// archive and resets the connection once.
func TestHelpExamples(t *testing.T) {
	archive, err := demoContent()
	require.NoError(t, err)
	var total int
	for _, c := range commands() {
		examples := helpExamples(commandHelp(c))
		if c.name != "version" {
			require.NotEmpty(t, examples, "%s --help shows no example", c.name)
		}
		total += len(examples)
		t.Run(c.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			for _, ex := range examples {
				srv, err := faulttest.Start(faulttest.Config{Content: archive,
					Script: []faulttest.Fault{{Kind: faulttest.Reset, At: int64(len(archive) / 3)}}})
				require.NoError(t, err)
				line := strings.ReplaceAll(ex.line, "https://example.com", strings.TrimSuffix(srv.URL, "/file"))
				stdout, stderr, err := runShellLine(t.Context(), line)
				srv.Close()
				require.NoError(t, err, "$ %s\nstderr:\n%s", ex.line, stderr)
				if ex.want != nil {
					assert.Equal(t, strings.Join(ex.want, "\n")+"\n", stdout, "$ %s", ex.line)
				}
			}
		})
	}
	assert.Greater(t, total, 15, "examples found in all the help texts")
}

// runShellLine runs one example line. The error reports a non-zero exit
// status or a line this small shell does not understand.
func runShellLine(ctx context.Context, line string) (stdout, stderr string, err error) {
	var in io.Reader = strings.NewReader("")
	var outFile string
	stages := strings.Split(line, " | ")
	for i, stage := range stages {
		words, err := shellWords(stage)
		if err != nil {
			return "", "", err
		}
		if n := len(words); n >= 2 && words[n-2] == ">" {
			if i != len(stages)-1 {
				return "", "", fmt.Errorf("a redirection before a pipe")
			}
			outFile, words = words[n-1], words[:n-2]
		}
		var expanded []string
		for _, w := range words {
			if strings.Contains(w, "*") {
				matches, err := filepath.Glob(w)
				if err != nil || len(matches) == 0 {
					return "", "", fmt.Errorf("%s: no match", w)
				}
				expanded = append(expanded, matches...)
				continue
			}
			expanded = append(expanded, w)
		}
		var out, errOut bytes.Buffer
		switch cmd, args := expanded[0], expanded[1:]; cmd {
		case "retrycheck":
			if code := run(ctx, args, in, &out, &errOut); code != exitOK {
				return out.String(), errOut.String(), fmt.Errorf("exit status %d", code)
			}
		case "echo":
			fmt.Fprintln(&out, strings.Join(args, " "))
		case "printf":
			if len(args) != 1 {
				return "", "", fmt.Errorf("printf: want one argument")
			}
			out.WriteString(strings.ReplaceAll(args[0], `\n`, "\n"))
		case "mkdir":
			for _, d := range args {
				if err := os.Mkdir(d, 0o777); err != nil {
					return "", "", err
				}
			}
		default:
			return "", "", fmt.Errorf("%s: not a command this test runs", cmd)
		}
		in, stdout, stderr = &out, out.String(), errOut.String()
	}
	if outFile != "" {
		return "", stderr, os.WriteFile(outFile, []byte(stdout), 0o644)
	}
	return stdout, stderr, nil
}

// shellWords splits a command into words as a POSIX shell does for
// unquoted and single- or double-quoted words without escapes.
func shellWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ', '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case '\'', '"':
			end := strings.IndexByte(s[i+1:], c)
			if end < 0 {
				return nil, fmt.Errorf("unterminated quote in %q", s)
			}
			w.WriteString(s[i+1 : i+1+end])
			i += end + 1
			inWord = true
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("empty command")
	}
	return words, nil
}

func TestShellWords(t *testing.T) {
	for in, want := range map[string][]string{
		`retrycheck decide -`:                       {"retrycheck", "decide", "-"},
		`echo 'a b:  c' x`:                          {"echo", "a b:  c", "x"},
		`printf '# expect: resume\n' > cases/x.txt`: {"printf", `# expect: resume\n`, ">", "cases/x.txt"},
		`a"b c"d`: {"ab cd"},
	} {
		got, err := shellWords(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	_, err := shellWords(`echo 'open`)
	assert.Error(t, err)
}

// TestHelpExamplesFound checks the extraction itself on a help text with
// prose, examples, output and flags.
func TestHelpExamplesFound(t *testing.T) {
	got := helpExamples("Usage: x\n\nExample:\n\n\t$ retrycheck a\n\tout 1\n\tout 2\n\t$ retrycheck b\n\nFlags:\n\n\t--json\n\t\tprint JSON\n")
	assert.Equal(t, []helpExample{
		{line: "retrycheck a", want: []string{"out 1", "out 2"}},
		{line: "retrycheck b"},
	}, got)
}
