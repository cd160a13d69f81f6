"""Stable diagnostic codes: tests, tools and users match on these, so never renumber one.

Every code aalp gives is a name here, and only here: everything else uses the name. The letter
is the severity (E error, W warning, N note; X the explorer's own), the hundreds the family:

- E0xx syntax and files: the parser and the loader;
- E1xx names: unknown, duplicated or reserved names, and names on the command line;
- E2xx values and ranges;
- E3xx structure: what a task runs, on which models, with which pins;
- W4xx warnings;
- N5xx notes;
- E6xx the passes after the check: an option that does not fit the spec, a plan that cannot
  be evaluated, simulated or emitted;
- X0xx the explorer: a page setting, a missing part, a bug, a time limit.

Each code, what it means and a spec that gives it: docs/diagnostics.md (a test holds the two
to each other).
"""

from __future__ import annotations

# syntax (the parser)
UNEXPECTED_TOKEN = "E001"  # the message lists what could come instead
UNEXPECTED_CHARACTER = "E002"
UNEXPECTED_END = "E003"
UNTERMINATED_STRING = "E004"
BAD_NUMBER = "E005"  # malformed, or out of range
PARSE_UNKNOWN_FUNCTION = "E006"  # in spec text (UNKNOWN_FUNCTION: in an IR built otherwise)
PARSE_BAD_ARITY = "E007"  # in spec text (BAD_ARITY: in an IR built otherwise)
PARSE_TOO_DEEP = "E008"  # more than 100 levels in spec text (TOO_DEEP: 200, in an IR)
MISSING_CLAUSE = "E009"
DUPLICATE_CLAUSE = "E010"
BAD_ESCAPE = "E011"
PARSE_UNKNOWN_FIELD = "E012"  # in spec text (UNKNOWN_FIELD: in an IR built otherwise)
PARSE_UNKNOWN_METRIC = "E013"  # in spec text (UNKNOWN_METRIC: in an IR built otherwise)
TOO_MANY_ERRORS = "N502"  # the first MAX_SYNTAX_ERRORS syntax errors are shown, then this note

# files (the loader; limits and rules in docs/security.md)
UNREADABLE_FILE = "E090"  # the spec: missing, a directory or device, not UTF-8, ...
MISSING_PROMPT = "E091"  # a prompt file that does not exist
PROMPT_OUTSIDE = "E092"  # a prompt file's path leaves the spec's folder (absolute, '..', link)
FILE_TOO_LARGE = "E093"  # a spec over 4 MiB, a prompt file over 1 MiB
UNREADABLE_PROMPT = "E094"  # a prompt file that is not a regular UTF-8 file, a bad name
NO_PROMPT_FOLDER = "E095"  # a prompt file in text with no file and no folder given

# names
UNKNOWN_NAME = "E100"
UNKNOWN_MODEL = "E101"
UNKNOWN_DATA = "E102"
UNKNOWN_OP = "E103"
UNKNOWN_FIELD = "E104"
UNKNOWN_METRIC = "E105"
UNKNOWN_FUNCTION = "E106"
DUPLICATE = "E107"
PARAM_ORDER = "E108"
PARAM_CYCLE = "E109"
UNKNOWN_OVERRIDE = "E110"  # -D of a name that is not a parameter
BAD_OVERRIDE = "E111"  # -D of a value that is not a formula of earlier parameters
RESERVED_NAME = "E112"
BAD_ARITY = "E113"
UNKNOWN_TASK = "E114"  # --task of a name that is not a task of the spec
UNKNOWN_TARGET = "E115"  # --target of a name that is not a code-generation target
UNKNOWN_ATTENTION = "E116"  # 'attention WORD' of a word that is not linear or quadratic
UNKNOWN_COMBINE = "E117"  # 'combine HOW' of a way that has no code

# values and ranges
NOT_PROBABILITY = "E200"
BAD_MIXTURE = "E201"
NOT_POSITIVE = "E202"
NOT_A_COUNT = "E203"
BAD_OVERLAP = "E204"
BAD_FANIN = "E205"
BAD_VOTE_MAX = "E206"
BAD_KEEP = "E207"
NEGATIVE_TOKENS = "E208"
EVAL_FAILED = "E209"
BAD_BOUND = "E210"
TOO_DEEP = "E211"
OVERFLOW = "E212"  # a value too large to compute (exp(1e6), 2^1e6, a total over 1.8e308)
BAD_SENSE = "E213"  # maximize a cost, or minimize success
BAD_DIRECTION = "E214"  # require success <= b, or a cost >= b
NOT_AN_OBJECTIVE = "E215"  # minimize errors, maximize accuracy: per-item measures are required
BAD_SPEED = "E230"  # a model speed whose rate is not above zero, or a negative overhead

# structure
NO_CAPABLE_MODEL = "E300"
ROUTED_WITHOUT_ROUTE = "E301"
NOT_OPS_MODEL = "E302"
NO_STAGES = "E303"
PIN_OUT_OF_RANGE = "E304"
X_WITHOUT_GRANULARITY = "E305"
REDUCE_FIRST = "E306"
BAD_ROUTE = "E307"
GRANULARITY_NAME = "E308"
NO_TASK = "E309"
NO_ITEMS = "E310"  # require accuracy (or errors) in a task with no map and no 'of DATA'
TWO_MEASURES = "E311"  # require success beside require accuracy (or errors) in one task
BAD_JUDGE = "E312"  # a vote judge that judges itself, or does not answer a number
BAD_EXPAND = "E313"  # a beam search scored by its own op, or a width, keep or depth out of range
# nested stages (map OP over DATA { stage* })
NESTED_DATA = "E320"  # a nested stage's data also used outside its block
NESTED_OP = "E321"  # an op run inside a nested block and outside it (or in two blocks)
NESTED_REDUCE = "E322"  # a reduce first in a nested block (nothing in the block to reduce)
BAD_REPEAT = "E340"  # repeat ... then vote: K not odd in 1..MAX_REPEAT, or a second choose
NESTED_ITEMS = "E323"  # require accuracy of the data of a nested stage
UNTIMED_MODEL = (
    "E330"  # minimize (or require) seconds with an op that may run on a model without speed
)
# tools (tool NAME { price P per call  latency L ms  success S })
TOOL_AND_MODEL = "E350"  # an op on a tool and a model, or on two tools
TOOL_TOKENS = "E351"  # an op on a tool given reads or writes (a tool call has no tokens)
TOOL_VOTE = "E352"  # a vote, judge or beam search named on an op that runs on a tool
BAD_TOOL = "E353"  # a tool's price or latency below zero, or its success outside [0, 1]

# warnings
UNUSED_PARAM = "W401"
UNUSED_MODEL = "W402"
UNUSED_DATA = "W403"
UNUSED_OP = "W404"
BASELINE_OVERFLOW = "W405"
NEVER_FITS = "W406"
MODEL_CANNOT = "W407"
STALE_CALIBRATION = "W408"  # a calibration measured with another prompt than the op's
CORRELATED_ERRORS = "W409"  # a calibration saw samples of one unit agree on wrong answers
VOTE_ON_TEXT = "W410"  # an exact-match vote on free-text answers (a judge picks instead)
FLAT_PER_ITEM = "W420"  # a stage over a small constant data after a map over many items

# notes
DEFAULT_OBJECTIVE = "N501"

# after the check
BAD_OPTION = "E601"  # --objective or --pin that does not fit the spec
BAD_DECISION = "E602"  # a decision of a given plan missing or of the wrong kind (--decisions)
CANNOT_SIMULATE = "E603"  # a plan the Monte Carlo simulation cannot run
CANNOT_EMIT = "E604"  # a plan that cannot be written as code for the target
SIM_REFUSED = "E605"  # what the simulated LLM cannot serve (serve-sim --task, a bad request)
BAD_CALIBRATION = "E606"  # a calibration file (--calibration) that does not fit the spec
BAD_EXAMPLES = "E607"  # examples of aalp calibrate that cannot be read or used
OVER_BUDGET = "E608"  # a calibration whose projected dollars exceed --budget-dollars
REPEAT_NOT_PLANNED = "E609"  # a repeat sharing decisions, or under require accuracy

# the explorer
BAD_SETTING = "X001"  # a setting the page sent does not fit the spec
# X002 is retired (it was for a part of aalp an installation lacks, which never happened)
INTERNAL_ERROR = "X003"  # a bug in aalp, reported on the page rather than as an HTTP 500
TOO_SLOW = "X004"  # a job stopped at the explorer's time limit

#: Codes that describe how the tool was called rather than the spec (the CLI exits 2 on these).
USAGE = frozenset(
    {UNKNOWN_OVERRIDE, BAD_OVERRIDE, UNKNOWN_TASK, UNKNOWN_TARGET, BAD_OPTION, BAD_DECISION}
)
