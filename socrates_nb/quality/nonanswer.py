"""Non-answers and scope decisions: what an answer says when it gives no requirement.

``classify(statement)`` reads one statement (or a whole short answer) and returns

* ``"unknown"``: the user does not know or the source is silent ("Not specified.", "TBD",
  "We don't know yet", "No latency number is given", "The document doesn't say",
  "n/a for now"), or the text carries nothing to build from (only punctuation or stop
  words, one word repeated). Such a statement is an *open question*, never a requirement.
* ``"out_of_scope"``: an explicit decision that the question does not apply ("Not
  applicable", "Out of scope", "None needed", "We have no integrations"). It closes the
  category with a scope item.
* ``None``: anything else, including a requirement with a placeholder ("The API shall
  respond within TBD ms": a binding sentence with a hole, which lint reports and a probe
  asks about).

Every pattern is anchored or a plain alternation, so a call is linear in the text.
"""

from __future__ import annotations

import re
from typing import Literal

Kind = Literal["unknown", "out_of_scope"]

_STOP_WORDS = frozenset(
    "a an the and or but of to in on at for with by from as is are was were be been it this that these those "
    "there here we i you they he she our your their its my me us them so too very just also then than not no "
    "yes do does did have has had will would can could should shall must may might what which who how why when "
    "where all any some".split()
)

# How people write "we do not know" about a subject ("Latency: TBD", "The retention period is unknown").
_UNKNOWN_WORDS = (
    r"not\s+(?:yet\s+)?(?:specified|stated|given|defined|decided|known|determined|documented|mentioned|covered|"
    r"addressed|clear|confirmed|provided|discussed|settled|agreed)(?:\s+yet)?"
    r"|unspecified|unknown|undecided|undefined|unclear|tbd|tbc|tba|t\.b\.d\.?|\?+"
    r"|to\s+be\s+(?:decided|determined|defined|confirmed|agreed|clarified|discussed|specified|announced|done)"
    r"|still\s+(?:open|undecided|unclear|to\s+be\s+decided)|pending\s+(?:a\s+)?decision|open\s+question|unanswered"
    r"|n/?a\s+(?:for\s+now|yet|at\s+the\s+moment|at\s+this\s+stage)"
)
_TAIL = (
    r"(?:\s+(?:yet|for\s+now|at\s+the\s+moment|at\s+this\s+(?:stage|point|time)|so\s+far|in\s+the\s+(?:document|"
    r"source|spec(?:ification)?|prd|srs|brief)|either|here|later|by\s+(?:the\s+)?(?:client|customer|product\s+owner|"
    r"business|team|vendor|stakeholders?)))*"
)
# "X: TBD", "X is unknown", "TBD", "Unknown."; the subject is at most eight words.
_SUBJECT_UNKNOWN = re.compile(
    r"(?:[\w'’/()&+.,-]++\s*+){0,8}?(?::|-|\bis\b|\bare\b|\bwas\b|\bwere\b|\bremains?\b|\bstill\b)?\s*+"
    rf"(?:{_UNKNOWN_WORDS}){_TAIL}",
    re.IGNORECASE,
)
_WHOLE_UNKNOWN = re.compile(
    r"(?:(?:i|we)\s+(?:really\s+)?(?:don'?t|do\s+not|did\s+not|didn'?t)\s+know(?:\s+(?:yet|that|this|it))*"
    r"|(?:i'?m|i\s+am|we'?re|we\s+are)\s+not\s+sure(?:\s+(?:yet|about\s+that))?|not\s+sure(?:\s+yet)?|unsure|no\s+idea"
    r"|dunno|idk|no\s+comment|can'?t\s+say|cannot\s+say|hard\s+to\s+say|no\s+answer|none\s+(?:given|specified|stated)"
    r"|(?:we|i)\s+(?:haven'?t|have\s+not)\s+(?:decided|defined|specified|thought\s+about\s+(?:it|that))(?:\s+yet)?"
    r"|(?:we|i)\s+(?:will|'ll)\s+(?:decide|confirm|see|check)\s+later|later|nothing\s+(?:yet|so\s+far)"
    r"|n/?a|na|-+|\?+)" + _TAIL,
    re.IGNORECASE,
)
# A non-answer with its reason: "Not specified: the spec leaves that open", "TBD, pending legal",
# "Not specified for anything else".
_UNKNOWN_LEAD = re.compile(rf"(?:{_UNKNOWN_WORDS}){_TAIL}\s*+(?:[:;,(–—-]|\bfor\b|\bbecause\b|\bas\b)", re.IGNORECASE)
# Sentences that say the source or the team has no answer, wherever they stand in the statement.
_SILENT = re.compile(
    r"\b(?:document|spec(?:ification)?|source|prd|srs|brief|requirements?|text|story|stories)\s+"
    r"(?:is\s+silent|says\s+nothing|(?:does\s+not|doesn'?t|did\s+not|didn'?t)\s+(?:say|specify|mention|state|"
    r"cover|define|give|address|discuss))"
    r"|\b(?:no|none\s+of\s+the)\s+(?:[\w-]++\s+){0,6}?(?:is|are|was|were|has\s+been|have\s+been)\s+(?:given|specified|"
    r"stated|defined|mentioned|provided|set|known|documented|available)\b"
    r"|\b(?:nothing|no\s+information)\s+(?:is\s+|was\s+)?(?:specified|stated|given|mentioned|known|documented|"
    r"provided|available)\b"
    r"|\bthere\s+(?:is|are)\s+no\s+(?:[\w-]++\s+){0,3}?(?:given|specified|stated|defined|information|details?)\b"
    r"|\b(?:not|never)\s+(?:been\s+)?(?:specified|stated|mentioned|given|defined)\s+(?:anywhere|in\s+the\s+"
    r"(?:document|source|spec|prd|srs|brief))",
    re.IGNORECASE,
)
# A statement about the source rather than the system: "The SRS gives no number for that",
# "The spec names operating systems, not browsers".
_ABOUT_SOURCE = re.compile(
    r"(?:the|this|our|their)\s+(?:document|doc|spec(?:ification)?|srs|prd|source|brief|requirements?(?:\s+doc(?:ument)?)?|"
    r"story|stories|text)\s+(?:only\s+|also\s+|just\s+)?(?:has|have|gives?|names?|lists?|says?|states?|specif(?:y|ies)|"
    r"mentions?|contains?|sets?|provides?|defines?|covers?|describes?|talks?\s+about|is\s+about|focuses\s+on|"
    r"does\s*n[o']t|did\s*n[o']t|lacks?|omits?|leaves?|skips?)\b",
    re.IGNORECASE,
)
_SOURCE_WORD = re.compile(r"\b(?:document|source|spec|prd|srs)\b", re.IGNORECASE)
_BINDING = re.compile(r"\b(?:shall|must|should|will|needs?\s+to|has\s+to|have\s+to)\b", re.IGNORECASE)
_OUT_OF_SCOPE = re.compile(
    r"(?:(?:this|that|it)\s+(?:is\s+)?)?(?:not\s+applicable|does\s*n[o']t\s+apply|doesn'?t\s+apply|"
    r"(?:is\s+)?(?:out\s+of|not\s+in)\s+scope|not\s+relevant|irrelevant|not\s+needed|not\s+required|none\s+needed|"
    r"none\s+required|none|nothing|no\s+need|not\s+(?:a\s+)?concern|not\s+for\s+us)"
    r"(?:\s+(?:here|to\s+us|for\s+(?:us|this\s+(?:project|product|system|app|release|version))|"
    r"in\s+(?:this|the\s+first)\s+(?:release|version|phase)))*"
    r"|(?:we\s+have\s+|there\s+(?:are|is)\s+)?no\s+(?:[\w-]++\s+){0,3}?(?:needed|required|planned|at\s+all)"
    r"|we\s+have\s+no(?:ne)?(?:\s+[\w-]++){0,2}",
    re.IGNORECASE,
)
_BREAK = re.compile(r"[.;!?]\s|\n")  # more than one statement: read them one by one
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")
_TRIM = " \t\r\n.!,;:-–—\"'“”‘’()[]"


def classify(statement: str) -> Kind | None:
    """``"unknown"``, ``"out_of_scope"`` or None for a requirement (see the module docstring)."""
    core = statement.strip(_TRIM)
    if not core or _no_content(core):
        return "unknown"
    if len(core) > 400:  # a non-answer is short; a long text is read statement by statement
        return None
    if _WHOLE_UNKNOWN.fullmatch(core) or _UNKNOWN_LEAD.match(core) or (
        _SUBJECT_UNKNOWN.fullmatch(core) and not _BINDING.search(core)
    ):
        return "unknown"
    if _OUT_OF_SCOPE.fullmatch(core):
        return "out_of_scope"
    if (_SILENT.search(core) or _ABOUT_SOURCE.match(core)) and not _BREAK.search(core) and not _binding_requirement(core):
        return "unknown"
    return None


def _binding_requirement(core: str) -> bool:
    """A binding sentence that states a requirement around its gap ("The API shall ... not specified")."""
    return _BINDING.search(core) is not None and _SOURCE_WORD.search(core) is None


def _no_content(core: str) -> bool:
    """No word, only stop words, or one word said three or more times and nothing else."""
    words = [w.lower() for w in _WORD.findall(core[:2000])]
    if not words:
        return True
    if all(w in _STOP_WORDS for w in words):
        return True
    return len(words) >= 3 and len(set(words)) == 1


__all__ = ["Kind", "classify"]
