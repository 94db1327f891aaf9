package policy

import "time"

// Limits bound an operation whatever the rules say. A zero field means
// "no limit". Rules see them as the CEL variable "limits".
type Limits struct {
	// MaxAttempts bounds the attempts, counting the first: when attempt
	// number MaxAttempts fails, the operation fails.
	MaxAttempts int `yaml:"max_attempts" json:"max_attempts" cel:"max_attempts"`
	// MaxResumes bounds the ranged resumes of one operation.
	MaxResumes int `yaml:"max_resumes" json:"max_resumes" cel:"max_resumes"`
	// MaxNoProgress bounds the attempts in a row that made no progress
	// (see MinProgress): when the failed attempt is the MaxNoProgress-th
	// such attempt in a row, the operation fails. Unlike MaxAttempts, it
	// lets a download that keeps moving keep going.
	MaxNoProgress int `yaml:"max_no_progress" json:"max_no_progress,omitempty" cel:"max_no_progress"`
	// MaxElapsed bounds the operation's duration: a decision fails when
	// the next delay would reach it, and adapters (httpx) end the
	// operation when it passes while bytes are still flowing.
	MaxElapsed time.Duration `yaml:"max_elapsed" json:"max_elapsed" cel:"max_elapsed"`
	// MaxRefetchBytes bounds the bytes downloaded again by restarts: a
	// retry after BytesReceived bytes refetches them all.
	MaxRefetchBytes int64 `yaml:"max_refetch_bytes" json:"max_refetch_bytes" cel:"max_refetch_bytes"`
	// MaxRetryAfter is the longest Retry-After (RFC 9110, section 10.2.3)
	// honoured; a server asking for a longer wait fails the operation
	// rather than being retried early.
	MaxRetryAfter time.Duration `yaml:"max_retry_after" json:"max_retry_after" cel:"max_retry_after"`
}

// defaultLimits apply to the keys a policy file leaves out.
var defaultLimits = Limits{
	MaxAttempts:   5,
	MaxResumes:    10,
	MaxRetryAfter: 2 * time.Minute,
}

func (l Limits) validate(errs *ErrorList, at func(key string) pos) {
	for key, neg := range map[string]bool{
		"max_attempts":      l.MaxAttempts < 0,
		"max_resumes":       l.MaxResumes < 0,
		"max_no_progress":   l.MaxNoProgress < 0,
		"max_elapsed":       l.MaxElapsed < 0,
		"max_refetch_bytes": l.MaxRefetchBytes < 0,
		"max_retry_after":   l.MaxRetryAfter < 0,
	} {
		if neg {
			errs.add(at(key), "", "limits: %s must not be negative", key)
		}
	}
}
