package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"sync"
)

// batchLines is how many lines of JSON Lines travel together between the
// goroutines that decide them; enough to amortise the hand-offs, few
// enough that memory stays small.
const batchLines = 256

// readLines reads JSON Lines, one dump per line; first is line lineNo.
func (rd *reader) readLines(name string, br *bufio.Reader, first []byte, lineNo int, fn func(*failure) error) error {
	if rd.work != nil && rd.workers > 1 {
		return rd.readLinesParallel(name, br, first, lineNo, fn)
	}
	line := first
	for {
		if len(bytes.TrimSpace(line)) > 0 {
			f, err := rd.decodeLine(name, lineNo, line)
			if err != nil {
				rd.onError(err)
			} else {
				if rd.work != nil {
					rd.work(f)
					f.worked = true
				}
				if err := fn(f); err != nil {
					return err
				}
			}
		}
		var err error
		line, err = readLine(br)
		if len(line) == 0 && err == io.EOF {
			return nil
		}
		lineNo++
		if err != nil && err != io.EOF {
			rd.onError(&inputError{Name: name, Line: lineNo, Err: err})
			return nil
		}
	}
}

// decodeLine decodes line lineNo of JSON Lines, locating any error.
func (rd *reader) decodeLine(name string, lineNo int, line []byte) (*failure, error) {
	f, err := rd.decodeJSON(fmt.Sprintf("%s:%d", name, lineNo), line)
	if err != nil {
		return nil, locateInLine(name, lineNo, line, err)
	}
	return f, nil
}

// A lineBatch is consecutive lines of JSON Lines and, once ready is
// closed, what became of each.
type lineBatch struct {
	lines [][]byte
	nos   []int
	// readErr ends the input after these lines.
	readErr error
	fs      []*failure
	errs    []error
	ready   chan struct{}
}

// readLinesParallel is readLines with decoding and rd.work spread over
// rd.workers goroutines. Batches are handed to fn and onError in input
// order; at most a few batches per worker are in flight, so memory stays
// constant however long the input is.
func (rd *reader) readLinesParallel(name string, br *bufio.Reader, first []byte, lineNo int, fn func(*failure) error) error {
	done := make(chan struct{})
	todo := make(chan *lineBatch, rd.workers)
	order := make(chan *lineBatch, 2*rd.workers)
	var wg sync.WaitGroup
	defer func() {
		close(done)
		wg.Wait()
	}()

	wg.Add(1)
	go func() { // read and batch
		defer wg.Done()
		defer close(order)
		defer close(todo)
		line := bytes.Clone(first)
		for eof := false; !eof; {
			b := &lineBatch{ready: make(chan struct{})}
			for len(b.lines) < batchLines {
				if len(bytes.TrimSpace(line)) > 0 {
					b.lines = append(b.lines, line)
					b.nos = append(b.nos, lineNo)
				}
				next, err := readLine(br)
				if len(next) == 0 && err == io.EOF {
					eof = true
					break
				}
				lineNo++
				if err != nil && err != io.EOF {
					b.readErr = &inputError{Name: name, Line: lineNo, Err: err}
					eof = true
					break
				}
				line = bytes.Clone(next)
			}
			select {
			case todo <- b:
			case <-done:
				return
			}
			select {
			case order <- b:
			case <-done:
				return
			}
		}
	}()

	for range rd.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range todo {
				b.fs = make([]*failure, len(b.lines))
				b.errs = make([]error, len(b.lines))
				for i, line := range b.lines {
					f, err := rd.decodeLine(name, b.nos[i], line)
					if err == nil {
						rd.work(f)
						f.worked = true
					}
					b.fs[i], b.errs[i] = f, err
				}
				close(b.ready)
			}
		}()
	}

	for b := range order {
		<-b.ready
		for i, f := range b.fs {
			if b.errs[i] != nil {
				rd.onError(b.errs[i])
				continue
			}
			if err := fn(f); err != nil {
				return err
			}
		}
		if b.readErr != nil {
			rd.onError(b.readErr)
		}
	}
	return nil
}
