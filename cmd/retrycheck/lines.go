package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
	"sync"
)

// batchLines is how many lines of JSON Lines travel together between the
// goroutines that decide them; enough to amortise the hand-offs, few
// enough that memory stays small.
const batchLines = 256

// lineChunk is the size of the blocks lines are copied into.
const lineChunk = 64 << 10

// batchBytes ends a batch early when its lines hold this many bytes, and
// inFlightBytes bounds the bytes of all the lines read but not yet handed
// to fn: with lines up to maxLine long, a count of batches alone would
// not bound memory. A line longer than the budget still goes through,
// alone.
const (
	batchBytes    = 1 << 20
	inFlightBytes = 2 * maxLine
)

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
		line, err = readLine(br, rd.bounds.line)
		if len(line) == 0 && err == io.EOF {
			return nil
		}
		lineNo++
		if errors.Is(err, errLineTooLong) {
			rd.onError(&inputError{Name: name, Line: lineNo, Err: err})
			continue // the next line is a record of its own
		}
		if err != nil && err != io.EOF {
			rd.onError(&inputError{Name: name, Line: lineNo, Err: err})
			return nil
		}
	}
}

// decodeLine decodes line lineNo of JSON Lines, locating any error.
func (rd *reader) decodeLine(name string, lineNo int, line []byte) (*failure, error) {
	f, err := rd.decodeJSON(name+":"+strconv.Itoa(lineNo), line)
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
	// errs holds, for each line, the error reading or decoding it.
	errs []error
	// size is the bytes of lines, taken from the in-flight budget.
	size int
	// readErr ends the input after these lines.
	readErr error
	fs      []*failure
	ready   chan struct{}
}

func (b *lineBatch) add(line []byte, no int, err error) {
	b.lines = append(b.lines, line)
	b.nos = append(b.nos, no)
	b.errs = append(b.errs, err)
	b.size += len(line)
}

// readLinesParallel is readLines with decoding and rd.work spread over
// rd.workers goroutines. Batches are handed to fn and onError in input
// order; at most a few batches per worker, and inFlightBytes of lines,
// are in flight, so memory stays constant however long the input is.
func (rd *reader) readLinesParallel(name string, br *bufio.Reader, first []byte, lineNo int, fn func(*failure) error) error {
	done := make(chan struct{})
	todo := make(chan *lineBatch, rd.workers)
	order := make(chan *lineBatch, 2*rd.workers)
	budget := newByteBudget(inFlightBytes)
	var wg sync.WaitGroup
	defer func() {
		close(done)
		budget.close()
		wg.Wait()
	}()

	wg.Add(1)
	go func() { // read and batch
		defer wg.Done()
		defer close(order)
		defer close(todo)
		line := first
		// Lines are copied out of br into chunks shared by the lines of a
		// batch, not one allocation each.
		var chunk []byte
		for eof := false; !eof; {
			b := &lineBatch{ready: make(chan struct{})}
			for len(b.lines) < batchLines && b.size < batchBytes {
				if len(bytes.TrimSpace(line)) > 0 {
					b.add(line, lineNo, nil)
				}
				next, err := readLine(br, rd.bounds.line)
				if len(next) == 0 && err == io.EOF {
					eof = true
					break
				}
				lineNo++
				line = nil
				if errors.Is(err, errLineTooLong) {
					b.add(nil, lineNo, &inputError{Name: name, Line: lineNo, Err: err})
					continue
				}
				if err != nil && err != io.EOF {
					b.readErr = &inputError{Name: name, Line: lineNo, Err: err}
					eof = true
					break
				}
				if len(chunk)+len(next) > cap(chunk) {
					chunk = make([]byte, 0, max(lineChunk, len(next)))
				}
				chunk = append(chunk, next...)
				line = chunk[len(chunk)-len(next) : len(chunk) : len(chunk)]
			}
			if !budget.acquire(b.size) {
				return
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
				for i, line := range b.lines {
					if b.errs[i] != nil {
						continue
					}
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
		budget.release(b.size)
		if b.readErr != nil {
			rd.onError(b.readErr)
		}
	}
	return nil
}

// byteBudget bounds the bytes held between goroutines. acquire waits
// until the bytes fit, except when nothing is held: one item larger than
// the whole budget still goes through, alone.
type byteBudget struct {
	mu     sync.Mutex
	cond   sync.Cond
	used   int
	limit  int
	closed bool
}

func newByteBudget(limit int) *byteBudget {
	b := &byteBudget{limit: limit}
	b.cond.L = &b.mu
	return b
}

// acquire takes n bytes, waiting for room; it returns false, taking
// nothing, once the budget is closed.
func (b *byteBudget) acquire(n int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for !b.closed && b.used > 0 && b.used+n > b.limit {
		b.cond.Wait()
	}
	if b.closed {
		return false
	}
	b.used += n
	return true
}

func (b *byteBudget) release(n int) {
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
	b.cond.Broadcast()
}

// close wakes and refuses every acquire, so the reader can stop.
func (b *byteBudget) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.cond.Broadcast()
}
