"""Generate-and-validate repair: small candidate edits near the failure, ranked by the model,
checked by the tests in a scratch copy.

A small model writes fixes badly but ranks them well (shared/notes/small-model-repair.md), so
when the read-loop guard forces an edit and the tests tell us where things fail, the agent
does not ask the model to *write* the replacement. Instead:

1. `suspects()` (localise.py) lists the lines that matter, most suspicious first: the failing
   traceback's frames outside the tests, the functions those frames are in, the functions the
   failing test lines call, the functions and files the user's request names (with their
   default values and the module-level constants they read, at half weight), and (pytest
   projects) the lines the failing tests run and the passing ones don't: an Ochiai score from a
   coverage run with one context per test (spectrum.py, run once per set of failing tests).
2. `candidates()` (candidates.py) makes small edits of those lines (`CandidateMaker`'s rules):
   an operator swapped for its neighbours, a number or bound ±1, a literal changed towards a
   literal of the request or the tests, a call or name replaced by another in scope, arguments
   or operands swapped, a `None`/empty guard added, a rename the request asks for; and
   shapes.py's fix shapes (a missing import, return, break or loop update, a call wrapped or
   unwrapped, a condition added or removed, a key or attribute swapped, bitwise and augmented
   operators, raise vs return, container literals), shapes_more.py's (an `f` prefix, `& ~flag`,
   a condition added to an `if`, a loop's stale tracking variable updated, a mutable default) and
   shapes_slips.py's (`is` for `==`, a split's limit, a pattern's quantifier, precedence, a list
   changed while walked, an iterator read twice, two statements swapped).
   Candidates of one rule at one place lose prior past the first few (one family of guards
   does not fill the scored few). Docstrings and comments are never changed.
   Files in the languages tree-sitter parses (JavaScript and TypeScript first) get treesit_rules.py's
   edits on their syntax trees instead (operators, bounds, literals, regex flags, names in scope,
   conditions, a missing return, confused methods), and localise.py finds their functions through
   treesit.py.
   Where a failing test expects an exception (`with pytest.raises(E):`) that the code does not
   raise, conditions.py synthesises the missing guard instead of guessing it: probe.py runs the
   tests once with the suspect functions traced, and the conditions over the names in scope that
   are true where E is expected and false everywhere else become `if <cond>: raise E(...)`
   candidates, ranked by the model among themselves and checked before all the others.
3. `rank()` (ranking.py) orders them by the model's score of each candidate file against the
   buggy one (the scorer passed in: `ChatModel.score_texts` after the chat `scoring_messages()`
   builds, a prefill over a shared prefix: dozens cost about one sampled edit).
4. `search()` (search.py) runs the whole thing: the best-ranked are tried in a `ScratchCopy`
   (scratch.py) of the repository with the test command, in order, until one makes the tests
   pass (the best three by prior are among the first 14 checked, whatever the model thinks of
   them); the user's tree is never touched here. The winner goes back to the agent as an
   ordinary proposal that the user reviews (`first_change()` turns it into an edit).

The repository is read once through `Sources` (sources.py), which also says which paths are
tests (`is_test_path`). Each module imports only from those listed before it: sources,
scratch, spectrum, probe, treesit, localise, shapes, shapes_expr, shapes_slips, shapes_more, treesit_rules,
candidates, conditions, ranking, search.

Nothing here imports a model or a UI: the scorer and the test runner are passed in.
"""

from .candidates import Candidate, candidates  # noqa: F401 - the package's face
from .localise import Suspect, suspects  # noqa: F401
from .ranking import rank, scoring_messages  # noqa: F401
from .scratch import ScratchCopy  # noqa: F401
from .search import RepairResult, first_change, search  # noqa: F401
from .sources import Sources, is_test_path  # noqa: F401
