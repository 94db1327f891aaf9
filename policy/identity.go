package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/google/cel-go/cel"
)

// ID identifies a policy: its name, its version as the file states it,
// and a digest of what it decides. Every Decision carries the ID of the
// policy that made it, and so does every dump that records one, so that a
// decision replayed later can tell whether the policy changed since.
type ID struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	// Digest is "sha256:" and the hex SHA-256 of the policy's rules,
	// variables, limits, backoff, budget and default action, with what
	// its files include: what decides. Comments (in YAML and in
	// expressions), layout, descriptions, test cases and how the policy
	// is split into files do not change it, so two policies with the same
	// digest decide the same.
	Digest string `json:"digest"`
}

// Short is the digest's first 12 hexadecimal digits, for people.
func (id ID) Short() string {
	const prefix = len("sha256:")
	if len(id.Digest) < prefix+12 {
		return id.Digest
	}
	return id.Digest[prefix : prefix+12]
}

// String is "name version (digest)", leaving out what is unknown.
func (id ID) String() string {
	s := id.Name
	if id.Version != "" {
		s += " " + id.Version
	}
	if id.Digest != "" {
		s += " (" + id.Short() + ")"
	}
	return s
}

// ID returns the policy's identity.
func (p *Policy) ID() ID { return ID{Name: p.name, Version: p.version, Digest: p.digest} }

// Version returns the policy file's version field, or "".
func (p *Policy) Version() string { return p.version }

// Files returns the file the policy was loaded from, then every file it
// includes, in the order read.
func (p *Policy) Files() []string { return append([]string(nil), p.files...) }

// canonical returns an expression as CEL prints it back from its parse
// tree, so that layout, line breaks and // comments leave the digest
// alone; text that does not parse is kept as written.
func canonical(text string) string {
	env, err := canonicalEnv()
	if err == nil {
		if a, iss := env.Parse(text); iss == nil || iss.Err() == nil {
			if s, err := cel.AstToString(a); err == nil {
				return s
			}
		}
	}
	return strings.TrimSpace(text)
}

// canonicalEnv parses expressions as policies are parsed, keeping the
// macro calls so that they print back as written.
var canonicalEnv = sync.OnceValues(func() (*cel.Env, error) {
	return cel.NewEnv(
		cel.OptionalTypes(cel.OptionalTypesVersion(optionalVersion)),
		cel.EnableMacroCallTracking(),
		cel.ParserExpressionSizeLimit(maxExprLen),
		cel.ParserRecursionLimit(maxNesting),
	)
})

// digestLang is hashed with every policy: a change to how policies are
// evaluated that can change a decision must change it.
const digestLang = "faultline policy 1; cel strings 5, optional 1"

// digest computes the ID's digest of a merged spec.
// recogniserForm is what of a recogniser the digest covers: all that
// changes what it reads, not its tests or description.
type recogniserForm struct {
	Name      string        `json:"name"`
	Match     string        `json:"match,omitempty"`
	When      string        `json:"when,omitempty"`
	Kind      string        `json:"kind,omitempty"`
	Transient *bool         `json:"transient,omitempty"`
	Status    int           `json:"status,omitempty"`
	Errno     string        `json:"errno,omitempty"`
	Code      string        `json:"code,omitempty"`
	GRPC      string        `json:"grpc,omitempty"`
	Wait      time.Duration `json:"wait,omitempty"`
	Timeout   bool          `json:"timeout,omitempty"`
	NotFound  bool          `json:"not_found,omitempty"`
}

func digest(spec *fileSpec, shipped bool) string {
	type ruleForm struct {
		Name       string `json:"name"`
		When       string `json:"when"`
		Action     Action `json:"action"`
		Delay      string `json:"delay,omitempty"`
		Reason     string `json:"reason,omitempty"`
		ReasonExpr string `json:"reason_expr,omitempty"`
	}
	form := struct {
		Lang      string      `json:"lang"`
		Limits    Limits      `json:"limits"`
		Backoff   Backoff     `json:"backoff"`
		Budget    *Budget     `json:"budget"`
		Variables [][2]string `json:"variables"`
		Rules     []ruleForm  `json:"rules"`
		Default   Action      `json:"default"`
		// Recognisers change the facts, so they decide too; the shipped
		// ones by the digest of their file.
		Recognisers []recogniserForm `json:"recognisers,omitempty"`
		Shipped     string           `json:"shipped,omitempty"`
	}{Lang: digestLang, Limits: spec.Limits, Backoff: spec.Backoff, Budget: spec.Budget, Default: spec.Default}
	for _, v := range spec.Variables {
		form.Variables = append(form.Variables, [2]string{v.Name, canonical(v.Expr.Text)})
	}
	for _, r := range spec.Rules {
		form.Rules = append(form.Rules, ruleForm{Name: r.Name, When: canonical(r.When.Text), Action: r.Action,
			Delay: canonical(r.Delay.Text), Reason: r.Reason, ReasonExpr: canonical(r.ReasonExpr.Text)})
	}
	if shipped {
		form.Shipped = shippedDigest()
	}
	for _, r := range spec.Recognisers {
		form.Recognisers = append(form.Recognisers, recogniserForm{Name: r.Name, Match: r.Match.Text, When: r.When.Text,
			Kind: r.Kind, Transient: r.Transient, Status: r.Status, Errno: r.Errno, Code: r.Code, GRPC: r.GRPC,
			Wait: r.Wait, Timeout: r.Timeout, NotFound: r.NotFound})
	}
	data, err := json.Marshal(form)
	if err != nil {
		panic("policy: encoding the digest form: " + err.Error()) // plain data cannot fail
	}
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}
