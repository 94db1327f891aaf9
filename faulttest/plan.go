package faulttest

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// response is what the server sends for one request: the status, the
// header, the exact body bytes, and a body fault still to strike.
type response struct {
	srv    *Server
	rec    *record
	status int
	header http.Header
	body   []byte
	fault  Fault // a body fault (Kind.isBodyFault) or None
	head   bool
	// paced counts the body bytes sent since began, for Config.Rate.
	began time.Time
	paced int64
}

// pace waits, before n more body bytes are sent, until Config.Rate allows
// them.
func (r *response) pace(n int64) {
	rate := r.srv.cfg.Rate
	if rate <= 0 {
		return
	}
	if r.began.IsZero() {
		r.began = time.Now()
	}
	due := r.began.Add(time.Duration(float64(r.paced) / float64(rate) * float64(time.Second)))
	r.paced += n
	if d := time.Until(due); d > 0 {
		time.Sleep(d)
	}
}

// respond registers a request, applies its scripted fault and plans the
// response, following RFC 9110 for Range (§14.2), If-Range (§13.1.5), 206
// (§15.3.7) and 416 (§15.5.17).
func (s *Server) respond(proto, method, target string, h http.Header) *response {
	s.mu.Lock()
	n := len(s.reqs) + 1
	var f Fault
	switch {
	case s.cfg.Choose != nil:
		f = s.cfg.Choose(Request{N: n, Proto: proto, Method: method, Target: target, Range: h.Get("Range"), IfRange: h.Get("If-Range"), Header: h})
	case n <= len(s.cfg.Script):
		f = s.cfg.Script[n-1]
	}
	switch f.Kind {
	case ChangeETag:
		s.rep.etag = `"v` + strconv.Itoa(n) + `-` + strings.Trim(s.rep.etag, `"`) + `"`
	case ChangeContent:
		b := make([]byte, len(s.rep.body))
		for i, c := range s.rep.body {
			b[i] = c ^ 0x5a
		}
		s.rep = representation{body: b, etag: etagOf(b), modTime: s.rep.modTime.Add(time.Hour)}
	}
	rep := s.rep
	rec := &record{Request: Request{
		N: n, Proto: proto, Method: method, Target: target,
		Range: h.Get("Range"), IfRange: h.Get("If-Range"), Header: h.Clone(), Fault: f,
	}}
	s.reqs = append(s.reqs, rec)
	s.mu.Unlock()

	r := &response{srv: s, rec: rec, header: http.Header{}, head: method == http.MethodHead}
	r.header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	switch f.Kind {
	case Status:
		r.status = f.Status
		if r.status == 0 {
			r.status = http.StatusServiceUnavailable
		}
		if f.RetryAfter != "" {
			r.header.Set("Retry-After", f.RetryAfter)
		}
		r.header.Set("Content-Type", "text/plain; charset=utf-8")
		r.body = []byte(http.StatusText(r.status) + "\n")
		return r.done()
	case RangeNotSatisfiable:
		return r.unsatisfiable(len(rep.body))
	}

	r.header.Set("Content-Type", "application/octet-stream")
	r.header.Set("Accept-Ranges", "bytes")
	weak := f.Kind == WeakETag || s.cfg.WeakETag
	if weak {
		r.header.Set("ETag", "W/"+rep.etag)
	} else {
		r.header.Set("ETag", rep.etag)
		r.header.Set("Last-Modified", rep.modTime.UTC().Format(http.TimeFormat))
	}
	size := int64(len(rep.body))
	r.status, r.body = http.StatusOK, rep.body
	if method == http.MethodGet || method == http.MethodHead {
		rng := h.Get("Range")
		useRange := rng != "" && f.Kind != IgnoreRange && ifRangeHolds(h.Get("If-Range"), rep, weak)
		if useRange {
			start, end, ok, satisfiable := parseRange(rng, size)
			switch {
			case ok && !satisfiable:
				return r.unsatisfiable(len(rep.body))
			case ok:
				if f.Kind == WrongContentRange {
					// Move the start by one byte but label it truthfully:
					// a client must check Content-Range, not trust it.
					shift := int64(1)
					if start > 0 {
						shift = -1
					}
					start = min(start+shift, size-1)
					end = max(end, start)
				}
				if s.cfg.MaxRange > 0 {
					end = min(end, start+s.cfg.MaxRange-1)
				}
				r.status, r.body = http.StatusPartialContent, rep.body[start:end+1]
				label := end
				if f.Kind == MislabelledRange {
					label = start + (end-start)/2
				}
				r.header.Set("Content-Range", "bytes "+strconv.FormatInt(start, 10)+"-"+strconv.FormatInt(label, 10)+"/"+strconv.FormatInt(size, 10))
			}
		}
	}
	if f.Kind == ForeignETag && r.status == http.StatusPartialContent {
		r.header.Set("ETag", `"foreign-`+strings.Trim(rep.etag, `"`)+`"`)
	}
	if f.Kind == Corrupt && f.At >= 0 && f.At < int64(len(r.body)) {
		b := append([]byte(nil), r.body...)
		b[f.At] ^= 0xff
		r.body = b
	}
	if f.Kind.isBodyFault() {
		r.fault = f
	}
	return r.done()
}

func (r *response) unsatisfiable(size int) *response {
	r.status = http.StatusRequestedRangeNotSatisfiable
	r.header.Set("Content-Range", "bytes */"+strconv.Itoa(size))
	r.header.Set("Content-Type", "text/plain; charset=utf-8")
	r.body = []byte("range not satisfiable\n")
	return r.done()
}

func (r *response) done() *response {
	r.header.Set("Content-Length", strconv.Itoa(len(r.body)))
	r.srv.mu.Lock() // the record is already visible to Requests
	if !r.fault.BeforeResponse {
		r.rec.Status = r.status
	}
	r.srv.mu.Unlock()
	if r.head {
		r.body = nil
	}
	return r
}

// ifRangeHolds evaluates an If-Range precondition (RFC 9110 §13.1.5): an
// entity tag must match strongly, a date must equal Last-Modified exactly.
// An absent If-Range holds.
func ifRangeHolds(v string, rep representation, weak bool) bool {
	switch {
	case v == "":
		return true
	case strings.HasPrefix(v, `"`):
		return !weak && v == rep.etag
	case strings.HasPrefix(v, "W/"):
		return false
	}
	t, err := http.ParseTime(v)
	return err == nil && !weak && t.Equal(rep.modTime.Truncate(time.Second))
}

// parseRange parses a single byte range (RFC 9110 §14.1.2). ok is false for
// anything this server does not handle (a syntax error, several ranges),
// in which case the Range header is ignored, as §14.2 allows.
func parseRange(v string, size int64) (start, end int64, ok, satisfiable bool) {
	spec, found := strings.CutPrefix(v, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false, false
	}
	first, last, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false, false
	}
	if first == "" { // suffix range: the last N bytes
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n < 0 {
			return 0, 0, false, false
		}
		if n == 0 || size == 0 {
			return 0, 0, true, false
		}
		return max(size-n, 0), size - 1, true, true
	}
	start, err := strconv.ParseInt(first, 10, 64)
	if err != nil || start < 0 {
		return 0, 0, false, false
	}
	end = size - 1
	if last != "" {
		end, err = strconv.ParseInt(last, 10, 64)
		if err != nil || end < start {
			return 0, 0, false, false
		}
		end = min(end, size-1)
	}
	if start >= size {
		return 0, 0, true, false
	}
	return start, end, true, true
}
