package policy

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/google/cel-go/checker"
	"github.com/google/cel-go/common/overloads"

	"github.com/faultline-go/faultline/classify"
)

// Caps on the facts and state a policy sees. The cost estimator assumes
// them and boundInput enforces them, so an expression's estimated cost is
// a true bound on its actual cost.
const (
	capLayers  = 32  // error.layers
	capLabels  = 16  // error.labels
	capHistory = 32  // history (the most recent entries are kept)
	capText    = 512 // every string, in bytes (so at most as many characters)
)

// sizeHints tells the cost estimator the caps.
type sizeHints struct{}

func (sizeHints) EstimateSize(n checker.AstNode) *checker.SizeEstimate {
	path := n.Path()
	if len(path) == 0 {
		return nil
	}
	switch strings.Join(path, ".") {
	case "error.layers":
		return &checker.SizeEstimate{Min: 0, Max: capLayers}
	case "error.labels":
		return &checker.SizeEstimate{Min: 0, Max: capLabels}
	case "history":
		return &checker.SizeEstimate{Min: 0, Max: capHistory}
	}
	if t := n.Type(); t != nil && t.String() == "string" {
		return &checker.SizeEstimate{Min: 0, Max: capText}
	}
	return nil
}

// EstimateCallCost bounds the strings that conversions produce, which the
// estimator otherwise takes as unbounded: the text of a number, a bool, a
// duration or a timestamp is short.
func (sizeHints) EstimateCallCost(function, overloadID string, target *checker.AstNode, args []checker.AstNode) *checker.CallEstimate {
	switch overloadID {
	case overloads.BoolToString, overloads.IntToString, overloads.UintToString, overloads.DoubleToString,
		overloads.TimestampToString, overloads.DurationToString:
		return &checker.CallEstimate{
			CostEstimate: checker.CostEstimate{Min: 1, Max: 1},
			ResultSize:   &checker.SizeEstimate{Min: 1, Max: 40},
		}
	}
	return nil
}

// boundInput returns in with the caps applied, copying only what it
// shortens.
func boundInput(in Input) Input {
	f := &in.Error
	if f.HTTP.Equivalent == 0 && f.HTTP.Status != 0 {
		// A derived fact: facts written by hand (test cases, a caller's
		// own) may leave it out.
		f.HTTP.Equivalent = classify.EquivalentStatus(f.HTTP.Status)
	}
	if len(f.Layers) > capLayers {
		f.Layers = f.Layers[:capLayers]
	}
	cloned := false
	for i, l := range f.Layers {
		if len(l.Type) > capText || len(l.Message) > capText || len(l.Via) > capText {
			if !cloned {
				f.Layers, cloned = slices.Clone(f.Layers), true
			}
			f.Layers[i].Type = clip(l.Type)
			f.Layers[i].Message = clip(l.Message)
			f.Layers[i].Via = clip(l.Via)
		}
	}
	if len(f.Labels) > capLabels || longEntries(f.Labels) {
		keys := make([]string, 0, len(f.Labels))
		for k := range f.Labels {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		m := make(map[string]string, capLabels)
		for _, k := range keys[:min(len(keys), capLabels)] {
			m[clip(k)] = clip(f.Labels[k])
		}
		f.Labels = m
	}
	f.Errno, f.Op, f.Message = clip(f.Errno), clip(f.Op), clip(f.Message)
	f.H2.Code, f.H2.Debug = clip(f.H2.Code), clip(f.H2.Debug)
	f.Decode.Format, f.Decode.Entry = clip(f.Decode.Format), clip(f.Decode.Entry)
	f.GRPC.Code, f.Code, f.Retryable = clip(f.GRPC.Code), clip(f.Code), clip(f.Retryable)
	f.Kind = classify.Kind(clip(string(f.Kind)))

	s := &in.State
	if len(s.History) > capHistory {
		s.History = s.History[len(s.History)-capHistory:]
	}
	cloned = false
	for i, h := range s.History {
		if len(h) > capText {
			if !cloned {
				s.History, cloned = slices.Clone(s.History), true
			}
			s.History[i] = clip(h)
		}
	}
	s.Phase = Phase(clip(string(s.Phase)))
	s.Request.Method, s.Request.Host = clip(s.Request.Method), clip(s.Request.Host)
	s.Response.Validator, s.Response.Protocol = clip(s.Response.Validator), clip(s.Response.Protocol)
	s.Source.Host = clip(s.Source.Host)
	return in
}

func longEntries(m map[string]string) bool {
	for k, v := range m {
		if len(k) > capText || len(v) > capText {
			return true
		}
	}
	return false
}

// clip shortens s to at most capText bytes without splitting a character.
func clip(s string) string {
	if len(s) <= capText {
		return s
	}
	n := capText
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// withinCaps reports whether in is within every cap the cost estimate
// assumes: the layers, labels and history no longer than their caps and
// every string at most capText bytes. boundInput makes an input so; this
// checks it independently, so that a decision evaluates without cel-go's
// runtime cost tracking (a fifth of a decision's time) only where the
// load-time estimate is a true bound, and a cap that boundInput missed
// falls back to the tracked program. TestWithinCapsEveryField holds it
// to every string, list and map of Input. Since boundInput clips every
// one of them (TestBoundInputEveryField), in Decide it holds by
// construction; it stays as the guard for a field added to Input later
// and clipped nowhere.
func withinCaps(in *Input) bool {
	f, s := &in.Error, &in.State
	if len(f.Layers) > capLayers || len(f.Labels) > capLabels || len(s.History) > capHistory {
		return false
	}
	for _, l := range f.Layers {
		if !short(l.Type, l.Message, l.Via) {
			return false
		}
	}
	for k, v := range f.Labels {
		if !short(k, v) {
			return false
		}
	}
	for _, h := range s.History {
		if len(h) > capText {
			return false
		}
	}
	return short(string(f.Kind), f.Errno, f.Op, f.H2.Code, f.H2.Debug, f.GRPC.Code, f.Code, f.Retryable,
		f.Decode.Format, f.Decode.Entry, f.Message, string(s.Phase), s.Request.Method, s.Request.Host,
		s.Response.Validator, s.Response.Protocol, s.Source.Host)
}

// short reports whether every string is at most capText bytes.
func short(ss ...string) bool {
	for _, s := range ss {
		if len(s) > capText {
			return false
		}
	}
	return true
}
