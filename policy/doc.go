/*
Package policy decides, for a failed operation, whether to retry it, resume
it where it stopped, or fail — by rules written in CEL, in a YAML file that
can be edited per deployment, type-checked when loaded, and tested by the
test cases it carries.

A decision is a pure function of an Input: the failure's classify.Facts and
the operation's State. Load or Parse a policy, then ask it:

	p, err := policy.Load("retry.yaml")
	d, err := p.Decide(ctx, policy.Input{Error: facts, State: state})

An Engine adds what a long-running process needs: jittered backoff from its
own random source, a retry budget shared by all operations, and Reload,
which swaps in an edited file atomically and keeps the last good policy if
the new one does not load. Engine.Watch calls it when the file, or a file
it includes, changes.

To change a policy safely: retrycheck diff decides recorded failures with
the old and the new policy and groups the decisions that change; a Shadow
then runs the new policy beside the active one in production, on a sample
of decisions, reporting where they disagree without acting on it; and every
Decision and dump names the policy that made it (ID).

# The policy file

	name: example
	version: "2026.12"            # optional; shown with the digest in every Decision
	description: Retry the network, resume bodies, fail the rest.
	include: [shared/network.yaml] # optional; see Includes

	limits:                       # zero means no limit; these are the defaults
	  max_attempts: 5             # attempts, counting the first
	  max_resumes: 10             # ranged resumes
	  max_no_progress: 0          # attempts in a row without progress (MinProgress)
	  max_elapsed: 0s             # the whole operation, streaming included
	  max_refetch_bytes: 0        # bytes downloaded again by restarts
	  max_retry_after: 2m         # longer Retry-After: fail rather than retry early

	backoff:                      # the defaults
	  initial: 250ms
	  max: 30s
	  multiplier: 2
	  jitter: full                # none | full | equal | decorrelated

	budget:                       # optional; gRPC-style retry throttling
	  max_tokens: 10              # each failure takes 1 token, each success
	  token_ratio: 0.5            # returns token_ratio; at half, retries stop

	variables:                    # named expressions, in order; each may use
	  transport: >                # the ones before it
	    error.kind in ['connection_reset', 'connection_refused', 'timeout']

	rules:                        # the first rule whose condition holds decides
	  - name: resume-body
	    when: phase == 'body' && transport && response.resumable
	    action: resume            # retry | resume | fail
	    reason: interrupted body; resuming

	  - name: transport
	    when: transport
	    action: retry
	    delay: max(backoff, duration('1s'))      # optional; default: backoff
	    reason_expr: "'transport: ' + error.kind"  # or a literal reason

	default: fail                 # when no rule matches

	tests:                        # run by RunCases (and retrycheck test)
	  - name: reset mid-body
	    input:
	      error: {kind: connection_reset}
	      state: {phase: body, attempt: 1, response: {resumable: true}}
	    expect: {action: resume, rule: resume-body}
	  - name: refused, first attempt
	    input:
	      error: {kind: connection_refused}
	      state: {phase: connect, attempt: 1}
	    expect: {action: retry, rule: transport, delay: 1s}   # delay: exact
	  - name: a recorded failure
	    dump: dumps/reset.json     # relative to the policy file
	    expect: {action: retry}

An expectation names the action and, optionally, the rule, the guard and
the delay. Cases are decided without jitter ("backoff" is the schedule's
base delay for the attempt), so an expected delay is exact.

Unknown keys are errors. In test inputs, fields are named as in the JSON
of Input (classify.Facts and State), and durations are written "1.5s".
A test input's total_expected is -1 (unknown) unless given, its
request.method is GET unless given, and its request.idempotent follows
the method (IdempotentMethod) unless given.

An expression containing ": " or " #", or starting with a quote, is not a
plain YAML scalar: fold it with ">" (or use "|"). CEL comments (//) are
allowed in expressions.

# Includes

A policy file may include other files, named relative to the file that
names them; each holds variables, rules and test cases (and may include
others), but not name, version, limits, backoff, budget or default, which
only the file loaded sets. An included file's variables, rules and cases
come before those of the file including it, in the order included.
Problems are reported at the included file's own file:line:col. A cycle,
a file included twice, a path outside the loaded file's directory
(absolute, "..", or a symbolic link leaving it: files are read through
os.Root), more than 16 files or includes nested more than 4 deep are
refused; the loaded file and all it includes hold at most 1 MiB.

# Identity

Every Decision carries the ID of the policy that made it: its name, its
version field and a digest — the SHA-256 of its rules, variables, limits,
backoff, budget and default, with what it includes. Comments, layout,
descriptions, test cases and how the policy is split into files leave the
digest alone, so two policies with the same digest decide the same. Dumps
record the decision made, so a replay can tell whether the policy changed
since (retrycheck explain says so).

# Variables

	Name         CEL type          Meaning
	error        classify.Facts    the failure's facts; see package classify
	                               (error.kind, error.errno, error.http.status,
	                               error.http.retry_after, error.h2.code,
	                               error.caused_by_transport, error.labels, …)
	phase        string            connect, request, headers, body, unpack, commit
	attempt      object            attempt.number (from 1), .resumes, .restarts,
	                               .refetches,
	                               .elapsed (duration), .bytes_received,
	                               .total_expected (-1: unknown),
	                               .bytes_refetched, .last_delay (duration);
	                               the failed attempt's progress: .gained
	                               (bytes past the furthest offset reached
	                               before), .duration, .rate (double, bytes
	                               a second), .no_progress (attempts in a
	                               row, this one included, that gained less
	                               than MinProgress; see MadeProgress)
	history      list(string)      kinds of the earlier failures, oldest first
	request      policy.Request    request.method, .host, .idempotent (the
	                               method is), .idempotency_key (the request
	                               carries an Idempotency-Key header)
	response     policy.Response   response.status, .accept_ranges, .validator,
	                               .resumable, .protocol
	backoff      duration          the engine's backoff for this attempt
	time_left    duration          until the caller's deadline; 0s: none
	caller_done  bool              the caller's context is done
	limits       policy.Limits     limits.max_attempts, … as configured
	source       policy.Source     where the failed request went, for a
	                               download with mirrors or ranges:
	                               source.mirror (index; 0 is the URL
	                               given), .host, .mirrors (count; 0: no
	                               mirrors), .mirrors_left (others still
	                               usable), .failures (in a row at this
	                               URL), .range_start, .range_end,
	                               .connections

Besides the CEL standard library: the strings extension, version 5
(pinned: upgrading cel-go does not change what a policy means), optional
types, version 1, and max(duration, duration) and min(duration, duration).

Variables are compiled in order, each declared with the type its
expression has; rules are type-checked against the declarations, then the
definitions are inlined at compile time (with cel.bind where a variable is
used more than once), so a variable costs exactly what its definition
costs, and replaying a decision needs nothing but the Input.

# Bounds

Every bound is checked when the policy loads, so that a policy that loads
can run:

	policy file               1 MiB; Load reads no more (a /dev/zero is refused)
	YAML aliases, merge keys  none: refused where written (they expand
	                          exponentially when followed; variables share
	                          expressions)
	rules, variables, tests   128, 64, 512
	one expression            4,096 characters, nested at most 32 levels
	cost                      estimated at most 10,000 for each delay and
	                          reason_expr, and for all the rules' conditions
	                          together (the cost of a decision no rule matches)
	test-case dumps           inside the policy file's directory (read through
	                          os.Root: no "..", absolute path or escaping
	                          symbolic link), 16 MiB in all

The cost estimate assumes the caps the engine enforces on the input (32
layers, 16 labels, 32 history entries, 512 bytes a string). At run time
the conditions are one program stopped at an actual cost of 10,000 (Explain
sums the rules it evaluates against the same limit), each delay and reason
likewise, and every evaluation stops when ctx is done. An input checked to
be within the caps has the estimate as its bound, and Decide evaluates its
conditions without counting the cost as it goes, which is a fifth of a
decision's time; any other input is counted and stopped. A rule that fails to
evaluate makes the decision Fail with Guard "error", and the error is
returned. ReadDumps reads dumps of at most 16 MiB each.

# Deciding

Decide evaluates all conditions as one program that returns the index of
the first that holds, then that rule's delay and reason. Explain evaluates
the conditions one by one and records each in Decision.Trace; it decides
the same.

The backoff grows with attempt.no_progress, so it starts over after an
attempt that moved the download forward.

Then the guards apply, whatever the rules said (Decision.Guard names the
one that changed the decision): the caller is done; max_attempts;
max_no_progress; a resume
becomes a retry when the response is not resumable; max_resumes;
max_refetch_bytes for a restart; the delay is clamped to backoff.max and
raised to the server's Retry-After, or the operation fails when
Retry-After exceeds max_retry_after; max_elapsed; and a delay that would
reach the caller's deadline fails now rather than sleep into it. An Engine
last checks its retry budget.

# Load errors

Load and Parse report every problem at once, as an ErrorList sorted by
position, each printed as

	retry.yaml:12:19: rule "resume-body": when: undefined field 'statuss'

Lines and columns are 1-based and count characters, for plain, quoted,
folded (>) and literal (|) scalars alike.

# Dumps

A Dump records a failure as data — the error's chain.Chain and the State
— so that a decision can be replayed exactly, by a test case or by
retrycheck. WriteDump writes one per file; ReadDumps reads a JSON object
or JSON Lines.
*/
package policy
